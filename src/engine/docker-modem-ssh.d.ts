// docker-modem's connection to an ssh:// engine (lib/ssh.js, a published file of the package): an
// http.Agent whose one connection is `docker system dial-stdio` over an ssh2 session.
declare module "docker-modem/lib/ssh.js" {
  import type { Agent } from "node:http";
  import type { ConnectConfig } from "ssh2";
  export default function sshAgent(options: ConnectConfig): Agent;
}
