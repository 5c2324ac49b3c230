/**
 * zod as the shipped code uses it: its functional build (`zod/mini`), whose start-up is a
 * fraction of the chained API's, with zod's own English messages ("expected string, received
 * number"), which the functional build does not load by itself. Import zod from here.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
