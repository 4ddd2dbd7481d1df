/** rekey's version, reported by /healthz. A test keeps it equal to package.json's. */
export const VERSION = "0.1.0";
