// Kept free of imports: the entry point (main.ts) needs it before anything else is loaded.

/** Exit codes (docs/operations.md). 78/EX_CONFIG means "a human must fix the setup". */
export const EXIT = {
  OK: 0,
  /** Unexpected internal error; a restart may help. */
  FAILURE: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The inclusion lane lost consistency; a restart rebuilds state from SQLite. */
  LANE_FATAL: 70,
  /** Misconfiguration or a data dir of another deployment; restarting will not help. */
  CONFIG: 78,
} as const;
