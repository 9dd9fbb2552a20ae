// Which PostgreSQL image a lab runs, and how to build one from Debian's packages where no
// registry can be reached (see ENVIRONMENT.md). Nothing here or in the node entrypoint depends on
// the official image's docker-entrypoint.sh, so the official postgres:* images work as well.
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { LabError, UsageError } from "../core/errors.js";
import type { Progress } from "../core/progress.js";
import type { ContainerEngine, ImageDetails } from "../core/engine.js";

export const DEFAULT_MAJOR = 17;
export const OFFICIAL_IMAGE = (major: number) => `postgres:${major}`;
const LOCAL_IMAGE = (major: number) => `repl-lab/postgres:${major}`;
/** The HA variant: the same PostgreSQL plus Debian's Patroni and etcd, pg_auto_failover and HAProxy (see ha.ts, auto-failover.ts, proxy.ts). */
export const LOCAL_HA_IMAGE = (major: number) => `repl-lab/postgres-ha:${major}`;

/** Debian packages an HA image adds. Patroni's etcd3 support imports python3-etcd, so it is needed too. */
const HA_PACKAGES = (major: number) => [
  "patroni",
  "python3-etcd",
  "etcd-server",
  "etcd-client",
  "procps",
  `postgresql-${major}-auto-failover`,
  "pg-auto-failover-cli",
  "haproxy",
];
/** The HA managers an HA image has, as a label: setup and `up` tell an older image (Patroni alone) from this one. */
export const HA_IMAGE_MANAGERS_LABEL = "repl-lab.ha-managers";
export const HA_IMAGE_MANAGERS = "patroni,pg_auto_failover,haproxy";

/** The Debian release that ships each PostgreSQL major version as `postgresql-<major>`. */
export const DEBIAN_SUITE_FOR_MAJOR: Record<number, string> = { 15: "bookworm", 17: "trixie" };

const BUILD_HINT = (major: number) => `build it with \`repl-lab image build --pg ${major}\` (about a minute), or choose another with --image`;

export interface ResolvedImage {
  image: string;
  details: ImageDetails;
}

const PULL_TIMEOUT_MS = 300_000;

async function presentOrPulled(engine: ContainerEngine, image: string, progress: Progress, signal: AbortSignal | undefined): Promise<ResolvedImage | undefined> {
  const present = await engine.inspectImage(image);
  if (present) return { image, details: present };
  progress.step(`pulling ${image}`);
  if (!(await engine.pullImage(image, { signal, timeoutMs: PULL_TIMEOUT_MS }))) return undefined;
  const pulled = await engine.inspectImage(image);
  return pulled ? { image, details: pulled } : undefined;
}

/**
 * The image to run: the one asked for (flag, lab file or REPL_LAB_IMAGE), else the official
 * postgres:17 when it is here or can be pulled, else the locally built repl-lab/postgres:17.
 * Ctrl-C (the signal) stops a pull at once.
 */
export async function resolveImage(engine: ContainerEngine, requested: string | undefined, progress: Progress, signal?: AbortSignal, ha = false): Promise<ResolvedImage> {
  const wanted = requested ?? process.env.REPL_LAB_IMAGE;
  if (ha && !wanted) {
    // The official images have no Patroni: an HA lab runs the locally built HA image unless told otherwise.
    const local = LOCAL_HA_IMAGE(DEFAULT_MAJOR);
    const details = await engine.inspectImage(local);
    if (details) return { image: local, details };
    throw new LabError(`no HA image: ${local} has not been built`, {
      hint: `build it with \`repl-lab image build --pg ${DEFAULT_MAJOR} --ha\` (about 90 s), or give an image with Patroni and etcd with --image`,
    });
  }
  if (wanted) {
    const found = await presentOrPulled(engine, wanted, progress, signal);
    if (found) return found;
    const major = Number(/:(\d+)/.exec(wanted)?.[1]);
    throw new LabError(`image ${wanted} is not on this engine and could not be pulled`, {
      hint: DEBIAN_SUITE_FOR_MAJOR[major] ? BUILD_HINT(major) : `pull or build it first, or choose another with --image (\`repl-lab image build --pg ${DEFAULT_MAJOR}\` builds ${LOCAL_IMAGE(DEFAULT_MAJOR)})`,
    });
  }
  const official = OFFICIAL_IMAGE(DEFAULT_MAJOR);
  const local = LOCAL_IMAGE(DEFAULT_MAJOR);
  const [officialDetails, localDetails] = await Promise.all([engine.inspectImage(official), engine.inspectImage(local)]);
  if (officialDetails) return { image: official, details: officialDetails };
  if (localDetails) return { image: local, details: localDetails };
  const pulled = await presentOrPulled(engine, official, progress, signal);
  if (pulled) return pulled;
  throw new LabError(`no PostgreSQL image: ${official} cannot be pulled here and ${local} has not been built`, {
    hint: BUILD_HINT(DEFAULT_MAJOR),
  });
}

/** The image `up` would run, without pulling anything: for `render`, which must not wait on a registry. */
export async function localImage(engine: ContainerEngine, requested: string | undefined): Promise<ResolvedImage | undefined> {
  const candidates = [requested ?? process.env.REPL_LAB_IMAGE ?? OFFICIAL_IMAGE(DEFAULT_MAJOR), ...(requested || process.env.REPL_LAB_IMAGE ? [] : [LOCAL_IMAGE(DEFAULT_MAJOR)])];
  for (const image of candidates) {
    const details = await engine.inspectImage(image);
    if (details) return { image, details };
  }
  return undefined;
}

/** `docker import` changes that give the image the official image's layout where the lab relies on it. */
function imageChanges(major: number, ha: boolean): string[] {
  return [
    `ENV PATH=/usr/lib/postgresql/${major}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    "ENV PGDATA=/var/lib/postgresql/data",
    "ENV LANG=C.UTF-8",
    "EXPOSE 5432",
    `LABEL repl-lab.image=postgres${ha ? "-ha" : ""}-${major}`,
    ...(ha ? [`LABEL ${HA_IMAGE_MANAGERS_LABEL}=${HA_IMAGE_MANAGERS}`] : []),
    'CMD ["postgres"]',
  ];
}

/** mmdebstrap's options and suite for a PostgreSQL image (the tarball and mirror follow them). */
function mmdebstrapArguments(major: number, ha: boolean): string[] {
  const suite = DEBIAN_SUITE_FOR_MAJOR[major];
  if (!suite) throw new UsageError(`--pg ${major} is not supported`, { hint: `choose one of ${Object.keys(DEBIAN_SUITE_FOR_MAJOR).join(", ")}` });
  const args = [
    "--variant=minbase",
    `--include=${[`postgresql-${major}`, "gosu", ...(ha ? HA_PACKAGES(major) : [])].join(",")}`,
    // Debian's package creates a cluster in /var/lib/postgresql/<major>/main; the lab keeps its data in PGDATA.
    `--customize-hook=rm -rf "$1/var/lib/postgresql/${major}/main" "$1/etc/postgresql/${major}/main"`,
    '--customize-hook=chroot "$1" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data',
    suite,
  ];
  return args;
}

async function run(command: string, args: string[], progress: Progress): Promise<void> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (/^I: /.test(line)) progress.step(line.slice(3));
    });
  }
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => resolve(exitCode ?? 1));
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") {
      throw new LabError(`${command} is not installed`, { hint: `install it with \`apt-get install -y ${command}\` (or run \`npm run setup\`)` });
    }
    throw error;
  });
  if (code !== 0) throw new LabError(`${command} failed with exit code ${code}`, { details: tail });
}

/** A root filesystem from Debian's packages (mmdebstrap with `args`: options, then the suite), imported through the engine as `image`. */
async function buildFromDebian(engine: ContainerEngine, image: string, args: string[], changes: string[], what: string, progress: Progress): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "repl-lab-image-"));
  const tarball = join(directory, "rootfs.tar");
  try {
    progress.step(`building a Debian root filesystem with ${what} (mmdebstrap)`);
    const mirror = process.env.REPL_LAB_DEBIAN_MIRROR;
    await run("mmdebstrap", [...args, tarball, ...(mirror ? [mirror] : [])], progress);
    progress.step(`importing it as ${image}`);
    const [repo = image, tag = "latest"] = image.split(":");
    await engine.importImage(createReadStream(tarball), repo, tag, changes);
    progress.step(`built ${image}`);
    return image;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Builds repl-lab/postgres:<major> from Debian's packages (mmdebstrap, then an import through the
 * engine); with `ha`, repl-lab/postgres-ha:<major>, which adds Patroni and etcd.
 */
export async function buildImage(engine: ContainerEngine, major: number, progress: Progress, ha = false): Promise<string> {
  const image = ha ? LOCAL_HA_IMAGE(major) : LOCAL_IMAGE(major);
  const args = mmdebstrapArguments(major, ha);
  const what = `postgresql-${major} from Debian ${DEBIAN_SUITE_FOR_MAJOR[major] ?? "?"}${ha ? ", Patroni, etcd, pg_auto_failover and HAProxy" : ""}`;
  return buildFromDebian(engine, image, args, imageChanges(major, ha), what, progress);
}

/**
 * The packet-filter helper image (lab/partition.ts): nftables on Debian bookworm, nothing else. About
 * 30 s; templates/netfilter/Dockerfile builds the same where a registry answers.
 */
export async function buildNetfilterImage(engine: ContainerEngine, image: string, progress: Progress): Promise<string> {
  const args = ["--variant=minbase", "--include=nftables", "bookworm"];
  return buildFromDebian(engine, image, args, ["LABEL repl-lab.image=netfilter", 'CMD ["nft", "list", "ruleset"]'], "nftables", progress);
}

/** The engine image a lab's test hosts run (Docker-in-Docker): Debian's docker.io, for labs across engines. */
export const ENGINE_IMAGE = "repl-lab/engine:1";

/**
 * Builds repl-lab/engine:1: Debian bookworm's Docker engine (docker.io) and iptables, run as
 * `dockerd`, its storage in a volume. The multi-host tests start three of them as the lab's hosts
 * (test/support/engines.ts); no registry has to answer. About 40 s once.
 */
export async function buildEngineImage(engine: ContainerEngine, image: string, progress: Progress): Promise<string> {
  const args = ["--variant=minbase", "--include=docker.io,iptables,ca-certificates,procps", "bookworm"];
  // /var/run is cleared at each start, as a machine's is at boot: after the container was killed,
  // dockerd's stale pid file and containerd's state there stop the engine from starting again.
  const changes = ["LABEL repl-lab.image=engine-2", "VOLUME /var/lib/docker", 'ENTRYPOINT ["sh", "-c", "rm -rf /var/run/docker.pid /var/run/docker /run/containerd; exec dockerd \\"$@\\"", "dockerd"]'];
  return buildFromDebian(engine, image, args, changes, "Docker's engine (docker.io)", progress);
}
