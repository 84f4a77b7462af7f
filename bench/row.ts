/** One line of the results table every benchmark adds to. */
export interface BenchRow {
  id: string;
  workload: string;
  figure: string;
  nexus: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: string;
}
