import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "coverage/", "out/", "tasks/*/dist/", ".demo/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        globalThis: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "azure-pipelines-task-lib",
              message: "Only shared/agent/tasklib-agent.ts imports task-lib.",
            },
            {
              name: "azure-pipelines-task-lib/task",
              message: "Only shared/agent/tasklib-agent.ts imports task-lib.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["shared/agent/tasklib-agent.ts", "test/**"],
    rules: { "no-restricted-imports": "off" },
  },
);
