import test from "ava";
import { InputError } from "../../src/imageSpec/errors";
import { GAPS, refuseAll, SPECS, STACKS } from "../helpers/badInputs";

// The bad inputs the README promises to refuse before anything runs (tests/helpers/badInputs.ts), as
// a pure check: each one an InputError that names the spec field or stack key.

test("malformed specs and stack configs are each refused with an InputError naming the field", (t) => {
  const r = refuseAll();
  t.deepEqual(r.accepted, [], "every malformed input is refused");
  t.deepEqual(r.wrong, [], "each with an InputError naming the field");
  t.is(r.tried, SPECS.length + STACKS.length);
  t.true(r.tried >= 100, `the tables hold ${r.tried} cases`);
  t.log(`bad inputs: ${r.tried} tried (${SPECS.length} specs, ${STACKS.length} stack configs), all refused naming the field`);
});

test("inputs that would fail later in Docker are refused up front (NUL bytes, relative entrypoint)", (t) => {
  const accepted = GAPS.filter(([, run]) => {
    try {
      run();
      return true;
    } catch (e) {
      return !(e instanceof InputError);
    }
  }).map(([what]) => what);
  t.deepEqual(accepted, []);
});
