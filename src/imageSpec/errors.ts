/** An error in user input (spec or config): reported before any Docker action, exit code 1. */
export class InputError extends Error {
  constructor(
    /** Where: `image fullnode/btcd` or `stack file stacks/Pulumi.local.yaml`. */
    readonly where: string,
    /** One line per problem, each naming the field and what to do. */
    readonly problems: string[],
  ) {
    super(`${where}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join("\n  - ")}`}`);
    this.name = "InputError";
  }
}
