/** A failure the user can act on: what failed, on which file, and what to do about it. */
export class ModelError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${problem}. ${fix}`);
    this.name = 'ModelError';
  }
}
