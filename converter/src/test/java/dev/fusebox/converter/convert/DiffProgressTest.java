package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Comparing values tells of the bytes of both sides read: a legacy checkpoint against its v5 conversion reads
 * every byte of both once, so progress climbs without a step back to twice A's tensor bytes, tensor by tensor.
 */
class DiffProgressTest {

    @Test
    void progressCountsBothSidesBytesUpToTheirSum() throws Exception {
        List<Progress> seen = new ArrayList<>();
        long aBytes = 0;
        int tensors;
        try (Checkpoint a = Checkpoint.open(Fixtures.tiny("legacy-base"));
             Checkpoint b = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            for (StoredTensor t : a.tensors().values()) {
                aBytes += t.byteSize();
            }
            tensors = a.tensors().size();
            DiffReport r = CheckpointDiff.compare(a, b, true, seen::add, Cancellation.NEVER);
            assertThat(r.identical()).isTrue();
        }
        assertThat(seen).isNotEmpty();
        long total = 2 * aBytes;
        assertThat(seen).allSatisfy(p -> {
            assertThat(p.bytesTotal()).isEqualTo(total);
            assertThat(p.itemsTotal()).isEqualTo(tensors);
            assertThat(p.bytesDone()).isBetween(0L, total);
        });
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i).bytesDone()).isGreaterThanOrEqualTo(seen.get(i - 1).bytesDone());
        }
        Progress last = seen.getLast();
        assertThat(last.bytesDone()).isEqualTo(total);
        assertThat(last.itemsDone()).isEqualTo(tensors);
    }

    @Test
    void cancellingWhileTensorsAreComparedStopsEveryLaneAndSaysCancelled() throws Exception {
        AtomicBoolean cancelled = new AtomicBoolean();
        List<Progress> seen = new ArrayList<>();
        try (Checkpoint a = Checkpoint.open(Fixtures.tiny("legacy-base"));
             Checkpoint b = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThatThrownBy(() -> CheckpointDiff.compare(a, b, true, p -> {
                seen.add(p);
                cancelled.set(p.itemsDone() >= 3);
            }, cancelled::get)).isInstanceOfSatisfying(FuseboxException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
        }
        // Each lane stops at its next tensor or buffer: far from all of the fixture's 41.
        assertThat(seen.getLast().itemsDone()).isLessThan(3 + CheckpointDiff.MAX_LANES);
    }

    @Test
    void aLayoutDiffTellsOfNoBytes() throws Exception {
        List<Progress> seen = new ArrayList<>();
        try (Checkpoint a = Checkpoint.open(Fixtures.tiny("legacy-base"));
             Checkpoint b = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            CheckpointDiff.compare(a, b, false, seen::add, Cancellation.NEVER);
        }
        assertThat(seen).isEmpty();
    }
}
