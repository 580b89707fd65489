// Loopback networking helpers shared by tests, bench and soak.
import { createServer } from "node:net";

/** A free loopback port (the kernel's choice; released just before the caller's server binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
