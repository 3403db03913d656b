// The chaos harness's seeded choices: the simulator's generator, so a trial replays from its seed
// as far as real processes and a real engine let it.
export { rng } from '../../test/sim/rng.ts'
export type { Rng } from '../../test/sim/rng.ts'
