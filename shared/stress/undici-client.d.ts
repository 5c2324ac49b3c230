// undici's HTTP/1.1 client on its own: its index also loads fetch, WebSocket, caches and the
// like (≈90 ms of start-up against ≈25 ms), and a task pays start-up on every run.
declare module "undici/lib/dispatcher/client.js" {
  import { Client } from "undici";
  export = Client;
}
