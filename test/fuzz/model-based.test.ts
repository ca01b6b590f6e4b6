// Model-based fuzzing (issue 7 §5), part 1 of 2 (the parts run other seeds, in parallel as tap jobs): random sequences
// of association, label, primary, batch and record operations against the reference model (model.ts), every answer
// and each run's final state compared. FUZZ_SEED / FUZZ_OPS override this file's seed and operation budget.
import t from 'tap'
import { commandArbitraries } from './model-commands.js'
import { modelFuzzTest } from './model-harness.js'

modelFuzzTest(t, { seed: 70_001, ops: { postgres: 5000, pglite: 700 }, commands: commandArbitraries })
