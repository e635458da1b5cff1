// Calendar windows in UTC: a day runs from midnight to midnight, a month from its first day's
// midnight to the next month's.
import type { BudgetWindow } from "./scopes.js";

export type WindowBounds = { readonly start: number; readonly end: number };

export function windowAt(window: BudgetWindow, now: number): WindowBounds {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  if (window === "month") return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  const start = Date.UTC(year, month, date.getUTCDate());
  return { start, end: Date.UTC(year, month, date.getUTCDate() + 1) };
}
