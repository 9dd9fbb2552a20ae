import { describe, expect, it } from "vitest";
import { NodeUnavailableError, SqlError } from "../../src/core/errors.js";
import { resolveEngineHost } from "../../src/lab/host.js";
import { mapDriverError } from "../../src/postgres.js";

describe("driver errors become lab errors that name the node", () => {
  it.each([
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5"), { code: "ECONNREFUSED" }), "standby1: connection refused (nothing listens there"],
    [Object.assign(new Error("timeout expired"), { code: "ETIMEDOUT" }), "standby1: no answer in time"],
    [new Error("Connection terminated unexpectedly"), "standby1: Connection terminated unexpectedly"],
    [Object.assign(new Error("the database system is starting up"), { code: "57P03" }), "standby1: the server is starting up"],
    [Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }), "standby1: terminating connection"],
  ])("%s is a NodeUnavailableError", (error, message) => {
    const mapped = mapDriverError(error, "standby1");
    expect(mapped).toBeInstanceOf(NodeUnavailableError);
    expect(mapped.message.startsWith(message)).toBe(true);
    expect((mapped as NodeUnavailableError).exitCode).toBe(1);
  });

  it("a statement the server refuses is a SqlError with its SQLSTATE", () => {
    const mapped = mapDriverError(Object.assign(new Error("cannot execute INSERT in a read-only transaction"), { code: "25006" }), "standby1");
    expect(mapped).toBeInstanceOf(SqlError);
    expect(mapped.message).toBe("standby1: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)");
    expect((mapped as SqlError).sqlstate).toBe("25006");
  });

  it("anything else (a bug) stays what it was", () => {
    const bug = new TypeError("x is not a function");
    expect(mapDriverError(bug, "leader")).toBe(bug);
  });
});

describe("the host where published ports are reached", () => {
  it.each([
    [{}, { host: "127.0.0.1", bindIp: "127.0.0.1" }],
    [{ DOCKER_HOST: "unix:///var/run/docker.sock" }, { host: "127.0.0.1", bindIp: "127.0.0.1" }],
    [{ DOCKER_HOST: "tcp://docker:2375" }, { host: "docker", bindIp: "0.0.0.0" }],
    [{ DOCKER_HOST: "tcp://127.0.0.1:2375" }, { host: "127.0.0.1", bindIp: "127.0.0.1" }],
    [{ DOCKER_HOST: "tcp://[::1]:2375" }, { host: "::1", bindIp: "127.0.0.1" }],
    [{ DOCKER_HOST: "tcp://docker:2375", REPL_LAB_HOST: "localhost" }, { host: "localhost", bindIp: "127.0.0.1" }],
    [{ REPL_LAB_HOST: "192.168.1.5" }, { host: "192.168.1.5", bindIp: "0.0.0.0" }],
  ])("%j gives %j", (env, expected) => {
    expect(resolveEngineHost(env as NodeJS.ProcessEnv)).toEqual(expected);
  });
});
