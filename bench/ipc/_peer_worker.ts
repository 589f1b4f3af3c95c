// The Worker side of bench/ipc/workers.ts: echoes messages (on its own port
// or a MessageChannel port it is given), or plays the shared-memory side.

import { answer } from "./_turns.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(data: unknown): void;
};

scope.onmessage = (event) => {
  const order = event.data;
  if (order.kind === "shm") {
    answer(order.name, order.total, order.play);
    scope.postMessage("done");
  } else if (order.kind === "port") {
    const port: MessagePort = order.port;
    port.onmessage = (e) => port.postMessage(e.data);
    scope.onmessage = null;
  } else {
    scope.onmessage = (e) => scope.postMessage(e.data);
  }
};
