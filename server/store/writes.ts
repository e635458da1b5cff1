// What a store's group-commit queue carries, whatever the database.
import type { AdminAuditEvent, AuditRecord, LedgerEntry } from "./store.js";

export type QueuedWrite = { kind: "call"; entry: LedgerEntry } | { kind: "admin"; event: AdminAuditEvent };
/** A call's committed audit record, or undefined when not audited or already stored. */
export type WriteResult = AuditRecord | undefined;
