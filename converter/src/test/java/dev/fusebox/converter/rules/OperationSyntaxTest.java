package dev.fusebox.converter.rules;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every operation is registered once, by the name its description starts with, and its inverse's inverse is
 * itself: an operation added to {@link Operation} without a syntax fails here.
 */
class OperationSyntaxTest {

    /** Seeded fields: axes 0 to 16, flags either way. */
    private static Operation make(Operation.Syntax syntax, Random random) throws Exception {
        return syntax.factory().make(new Operation.Fields() {
            @Override
            public int dim(String name) {
                assertTrue(syntax.fields().contains(name), syntax.name() + " reads undeclared field " + name);
                return random.nextInt(17);
            }

            @Override
            public boolean flag(String name) {
                assertTrue(syntax.fields().contains(name), syntax.name() + " reads undeclared field " + name);
                return random.nextBoolean();
            }
        });
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void everyRecordIsRegisteredAndItsInverseRoundTrips(long seed) throws Exception {
        Random random = new Random(seed);
        List<Operation.Syntax> known = Operation.known();
        assertEquals(known.size(), known.stream().map(Operation.Syntax::name).distinct().count(), "names repeat");
        Set<Class<?>> made = new HashSet<>();
        for (Operation.Syntax syntax : known) {
            assertEquals(syntax, Operation.named(syntax.name()).orElseThrow());
            Operation op = make(syntax, random);
            made.add(op.getClass());
            assertTrue(op.describe().startsWith(syntax.name()), op.describe() + " is not written as " + syntax.name());
            assertEquals(op, op.inverse().inverse());
            String inverseName = op.inverse().describe().split("\\(")[0];
            assertTrue(Operation.named(inverseName).isPresent(), "the inverse " + inverseName + " is not registered");
        }
        assertEquals(Set.copyOf(Arrays.asList(Operation.class.getPermittedSubclasses())), made,
                "every Operation record needs its syntax in Operation.known()");
    }
}
