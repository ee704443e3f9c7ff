package dev.fusebox.viewmodel.mapping;

import java.util.List;

/** The mapping rows of one layer (or of everything outside the layers), as the table groups them. */
public record MappingGroup(String label, List<MappingRow> rows) {

    public MappingGroup {
        rows = List.copyOf(rows);
    }

    public long bytes() {
        return rows.stream().mapToLong(MappingRow::bytes).sum();
    }
}
