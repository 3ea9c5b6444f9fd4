/** The error a condition is refused with at admission (HTTP 400 names `condition`). */
export class ConditionError extends Error {
  /** 0-based character offset in the source where the problem is. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.name = "ConditionError";
    this.position = position;
  }
}
