// The Worker side of bench/ipc/workers.ts: echoes messages (on its own port
// or a MessageChannel port it is given), or plays the shared-memory side.

import { notify, openSharedSync, wait } from "../../mod.ts";

const TURN = 0;
const READY = 16;

function shm(name: string, total: number, spin: number) {
  using m = openSharedSync(name);
  const w = new Int32Array(m.view().buffer);
  Atomics.store(w, READY / 4, 1);
  notify(m, READY);
  const options = { spin };
  for (let i = 0; i < total; i++) {
    while (Atomics.load(w, TURN) !== 2 * i + 1) {
      wait(m, TURN, 2 * i, Infinity, options);
    }
    Atomics.store(w, TURN, 2 * i + 2);
    notify(m, TURN);
  }
}

const scope = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(data: unknown): void;
};

scope.onmessage = (event) => {
  const order = event.data;
  if (order.kind === "shm") {
    shm(order.name, order.total, order.spin);
    scope.postMessage("done");
  } else if (order.kind === "port") {
    const port: MessagePort = order.port;
    port.onmessage = (e) => port.postMessage(e.data);
    scope.onmessage = null;
  } else {
    scope.onmessage = (e) => scope.postMessage(e.data);
  }
};
