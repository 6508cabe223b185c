export type { Bus, BusFactory, BusHandler, BusStats } from "./types.js";
