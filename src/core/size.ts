// Sizes as people write them ("16MB", "320MB", "1GB", "512kB", or a bare number of bytes), in bytes.

const FACTORS: Record<string, number> = { "": 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export function parseSize(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB)?\s*$/i.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (FACTORS[(match[2] ?? "").toLowerCase()] ?? 1));
}
