// Loaded into the gateway with --import by bench/alloc-profile.ts: V8's sampling heap profiler,
// counting the objects the GC already collected too (what the request path allocates, not what it
// keeps). SIGUSR2 writes the profile (start-up included) to $SWITCHBOARD_ALLOC_PROFILE.
import { renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const session = new Session();
session.connect();
session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
process.on("SIGUSR2", () => {
  session.post("HeapProfiler.stopSampling", (error, result) => {
    if (error) throw error;
    // Written aside and renamed, so the bench never reads half a file.
    const out = process.env.SWITCHBOARD_ALLOC_PROFILE;
    writeFileSync(`${out}.part`, JSON.stringify(result.profile));
    renameSync(`${out}.part`, out);
  });
});
