/** The local CA (sim/local-ca.ts), where the tests have always imported it from. */
export * from "../../sim/local-ca";
