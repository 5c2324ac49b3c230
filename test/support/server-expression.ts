/** The gate's expression evaluator lives with the classic release player, which evaluates gates too. */
export {
  evaluateServerExpression,
  jsonPath,
  substituteMacros,
} from "../../pipeline/classic/server-expression";
