export { createInProcProvider, type InProcOptions } from "./provider.js";
