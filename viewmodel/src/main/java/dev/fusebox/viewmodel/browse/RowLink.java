package dev.fusebox.viewmodel.browse;

/**
 * A line the model screen draws between its panes: the selected row and one of its counterparts.
 *
 * @param label the part of the fused tensor concerned ({@code [1, 0:96]}), or "" for all of it
 */
public record RowLink(TreeRow from, TreeRow to, String label) {
}
