/** Exit codes of every `streamkit` command (docs/cli.md): kept apart from serve so client verbs load no server code. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
