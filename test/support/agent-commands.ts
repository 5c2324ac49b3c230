/** The agent's logging commands parsed back out of a task's stdout: see pipeline/agent-commands.ts. */
export { parseLoggingCommand, type LoggingCommand } from "../../pipeline/agent-commands";
