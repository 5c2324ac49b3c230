// Draws the extension's PNG icons (no image tools needed): a rounded square in the task's
// colour with a white chevron, 32x32 for tasks and 128x128 for the extension.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};

function png(size, [r, g, b]) {
  const rows = [];
  const radius = size * 0.18;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const cx = Math.min(x, size - 1 - x),
        cy = Math.min(y, size - 1 - y);
      const inCorner = cx < radius && cy < radius && Math.hypot(radius - cx, radius - cy) > radius;
      // a chevron ">" pointing right: the rollout moving on
      const u = x / size,
        v = y / size;
      const d = Math.abs(u - 0.3 - (0.5 - Math.abs(v - 0.5)) * 0.8);
      const chevron = v > 0.22 && v < 0.78 && d < 0.09;
      const o = 1 + x * 4;
      if (inCorner) row.set([0, 0, 0, 0], o);
      else if (chevron) row.set([255, 255, 255, 255], o);
      else row.set([r, g, b, 255], o);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const colours = {
  TriggerEv2Rollout: [0, 120, 212],
  FollowRollout: [0, 153, 188],
  StressTestStage: [202, 80, 16],
  GateApproval: [135, 100, 184],
  TeamsNotify: [70, 71, 117],
  Ev2RolloutGate: [16, 124, 16],
};
const root = new URL("..", import.meta.url).pathname;
for (const [task, colour] of Object.entries(colours))
  writeFileSync(`${root}tasks/${task}/icon.png`, png(32, colour));
writeFileSync(`${root}images/extension-icon.png`, png(128, [0, 120, 212]));
console.log("icons written");
