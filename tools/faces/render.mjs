#!/usr/bin/env node
// Renders ddim's labelled cartoon-faces data set: faces drawn as SVG by facesjs (pinned 5.0.3,
// Apache-2.0, https://github.com/zengm-games/facesjs) and rasterised by resvg-js (pinned in
// package-lock.json). Every image is a pure function of (index, seed, p, uniform, overrides), so
// a set can be re-rendered offline bit for bit, and any face can be re-rendered with one attribute
// changed (a counterfactual) by the `oracle` mode.
//
//   node tools/faces/render.mjs set --out DIR [--size 64] [--count 30000] [--seed 0]
//        [--p NAME=PROB ...] [--uniform NAME ...] [--jobs N]
//   node tools/faces/render.mjs oracle --requests REQ.json --out OUT.bin [--size 64] [--seed 0]
//        [--p NAME=PROB ...] [--uniform NAME ...] [--jobs N]
//
// Install the dependencies first with scripts/install-faces.sh. `--help` prints the details.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { Worker, isMainThread, parentPort, workerData, threadId } from "node:worker_threads";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULES = path.join(HERE, "node_modules");
const FACESJS_VERSION = "5.0.3";

// ---------------------------------------------------------------------------------------------
// Errors: a usage error prints one line and exits 2 before anything is written; anything else
// that goes wrong (a failed write, a broken install) prints one line and exits 1.

class UsageError extends Error {}
const usage = (msg) => {
  throw new UsageError(msg);
};

const HELP = `usage:
  node tools/faces/render.mjs set --out DIR [--size 64] [--count 30000] [--seed 0]
       [--p NAME=PROB ...] [--uniform NAME ...] [--jobs N]
  node tools/faces/render.mjs oracle --requests REQ.json --out OUT.bin [--size 64] [--seed 0]
       [--p NAME=PROB ...] [--uniform NAME ...] [--jobs N]

set     renders faces 0..count-1 to DIR/{train,test}/IIIIII.png (test when index % 10 == 9),
        DIR/attributes.csv, DIR/README.md, DIR/LICENSE.facesjs and, last, DIR/faces.json.
oracle  REQ.json is a JSON array of {"index": i, "set": {"NAME": "VALUE", ...}}; writes OUT.bin
        (uint8 RGB, size*size*3 bytes per request, row-major HWC) and OUT.bin.json (per request,
        every attribute of the face as rendered).
--p NAME=PROB   male (0.5), eyeglasses (0.1), beard (0.5, males only), smiling (facesjs's own
                mouth draw unless given)
--uniform NAME  hair_colour, skin_tone (uniform over all values instead of facesjs's race palettes)
--jobs N        worker threads (default: all cores); the output does not depend on it
`;

// ---------------------------------------------------------------------------------------------
// facesjs and resvg (loaded lazily, so that usage errors need no install)

let FJ = null; // { generate, faceToSvgString, svgsIndex, svgsGenders, colors, Resvg, versions, license }

async function loadDeps() {
  if (FJ) return FJ;
  const fjDir = path.join(MODULES, "facesjs");
  const rvDir = path.join(MODULES, "@resvg", "resvg-js");
  let fjPkg, rvPkg;
  try {
    fjPkg = JSON.parse(fs.readFileSync(path.join(fjDir, "package.json"), "utf8"));
    rvPkg = JSON.parse(fs.readFileSync(path.join(rvDir, "package.json"), "utf8"));
  } catch {
    throw new Error("facesjs or resvg-js is not installed; run scripts/install-faces.sh");
  }
  if (fjPkg.version !== FACESJS_VERSION) {
    throw new Error(`facesjs ${fjPkg.version} is installed, need ${FACESJS_VERSION}; run scripts/install-faces.sh`);
  }
  const imp = (p) => import(new URL(`file://${p}`).href);
  const build = path.join(fjDir, "build");
  const [gen, toSvg, idx, rv] = await Promise.all([
    imp(path.join(build, "generate.js")),
    imp(path.join(build, "faceToSvgString.js")),
    imp(path.join(build, "svgs-index.js")),
    imp(path.join(rvDir, "index.js")),
  ]);
  FJ = {
    generate: gen.generate,
    colors: gen.colors,
    faceToSvgString: toSvg.faceToSvgString,
    svgsIndex: idx.svgsIndex,
    svgsGenders: idx.svgsGenders,
    Resvg: rv.Resvg ?? rv.default?.Resvg,
    facesjsVersion: fjPkg.version,
    resvgVersion: rvPkg.version,
    licensePath: path.join(fjDir, "LICENSE"),
  };
  return FJ;
}

// ---------------------------------------------------------------------------------------------
// Attribute tables. The value lists below are the data set's vocabulary: their order is fixed
// and written to faces.json.

// The 10 hair colours of facesjs's race palettes, darkest to lightest (relative luminance).
const HAIR_COLOURS = [
  ["jet_black", "#0f0902"],
  ["soft_black", "#1c1008"],
  ["dark_brown", "#2C1608"],
  ["black", "#272421"],
  ["chestnut", "#3D2314"],
  ["brown", "#5A3825"],
  ["auburn", "#B55239"],
  ["light_brown", "#CC9966"],
  ["ash_blond", "#D7BF91"],
  ["golden_blond", "#e9c67b"],
];
const HAIR_GROUP = {
  jet_black: "black", soft_black: "black", black: "black",
  dark_brown: "brown", chestnut: "brown", brown: "brown", light_brown: "brown",
  auburn: "red",
  ash_blond: "blond", golden_blond: "blond",
};
// The 11 skin colours of facesjs's race palettes, lightest ("1") to darkest ("11").
const SKIN_COLOURS = [
  "#fedac7", "#f2d6cb", "#f0c5a3", "#eab687", "#ddb7a0", "#bb876f",
  "#aa816f", "#a67358", "#ad6453", "#74453d", "#5c3937",
];
const SMILING_MOUTHS = ["smile", "smile2", "smile3", "smile4", "smile-closed"];

const PRIMARY = ["male", "eyeglasses", "glasses", "beard", "facial_hair", "smiling", "mouth",
  "hair_colour", "hair_style", "skin_tone"];
const DERIVED = { bald: "hair_style", black_hair: "hair_colour", brown_hair: "hair_colour",
  blond_hair: "hair_colour", red_hair: "hair_colour", no_beard: "beard" };
const ATTRIBUTES = [...PRIMARY, ...Object.keys(DERIVED)];
const P_NAMES = ["male", "eyeglasses", "beard", "smiling"];
const P_DEFAULT = { male: 0.5, eyeglasses: 0.1, beard: 0.5 };
const UNIFORM_NAMES = ["hair_colour", "skin_tone"];
const YES_NO = ["no", "yes"];

// Built once facesjs is loaded (the id lists come from its svgs-index, in its sorted order).
let T = null;
function tables() {
  if (T) return T;
  const { svgsIndex, colors } = FJ;
  const ids = (k) => svgsIndex[k];
  // Cross-check the hard-coded palettes against the installed facesjs.
  const hairHex = new Set(), skinHex = new Set();
  for (const race of Object.values(colors)) {
    race.hair.forEach((h) => hairHex.add(h));
    race.skin.forEach((h) => skinHex.add(h));
  }
  const same = (a, b) => a.size === b.length && b.every((x) => a.has(x));
  if (!same(hairHex, HAIR_COLOURS.map((c) => c[1])) || !same(skinHex, SKIN_COLOURS)) {
    throw new Error("facesjs's colour palettes differ from the ones this renderer names");
  }
  const glasses = ids("glasses").filter((g) => g !== "none" && g !== "facemask");
  const facialHair = ids("facialHair").filter((g) => g !== "none");
  const mouths = ids("mouth");
  if (!SMILING_MOUTHS.every((m) => mouths.includes(m))) throw new Error("facesjs's mouth ids changed");
  T = {
    glasses, // the 5 real glasses
    facialHair, // the 82 male-only facial hair ids
    smiling: mouths.filter((m) => SMILING_MOUTHS.includes(m)),
    notSmiling: mouths.filter((m) => !SMILING_MOUTHS.includes(m)),
    values: {
      male: YES_NO,
      eyeglasses: YES_NO,
      glasses: ["none", ...glasses],
      beard: YES_NO,
      facial_hair: ["none", ...facialHair],
      smiling: YES_NO,
      mouth: [...mouths],
      hair_colour: HAIR_COLOURS.map((c) => c[0]),
      hair_style: [...ids("hair")],
      skin_tone: SKIN_COLOURS.map((_, i) => String(i + 1)),
      bald: YES_NO, black_hair: YES_NO, brown_hair: YES_NO, blond_hair: YES_NO, red_hair: YES_NO,
      no_beard: YES_NO,
    },
    hairName: Object.fromEntries(HAIR_COLOURS.map(([n, h]) => [h, n])),
    hairHex: Object.fromEntries(HAIR_COLOURS),
    skinTone: Object.fromEntries(SKIN_COLOURS.map((h, i) => [h, String(i + 1)])),
    // How often facesjs itself draws a smiling mouth (all 17 mouths are drawn uniformly).
    smilingNative: mouths.filter((m) => SMILING_MOUTHS.includes(m)).length / mouths.length,
  };
  return T;
}

// ---------------------------------------------------------------------------------------------
// Deterministic random streams. A stream is seeded from (seed, index, name) by splitmix64-style
// mixing (64-bit, BigInt) and produces sfc32 numbers in [0, 1). Stream "face" stands in for
// Math.random while facesjs's generate() runs; every attribute ddim controls has its own stream,
// so changing one attribute's probability or overriding it never moves another attribute.

const M64 = (1n << 64n) - 1n;
function mix64(x) {
  let z = (x + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function fnv1a64(s) {
  let h = 0xcbf29ce484222325n;
  for (const ch of Buffer.from(s, "utf8")) h = ((h ^ BigInt(ch)) * 0x100000001b3n) & M64;
  return h;
}
function stream(seed, index, name) {
  const h = mix64(mix64(mix64(seed) ^ BigInt(index)) ^ fnv1a64(name));
  const s1 = mix64(h), s2 = mix64(s1);
  let a = Number(s1 & 0xffffffffn) | 0, b = Number(s1 >> 32n) | 0;
  let c = Number(s2 & 0xffffffffn) | 0, d = Number(s2 >> 32n) | 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
const pick = (list, u) => list[Math.min(list.length - 1, Math.floor(u * list.length))];

// ---------------------------------------------------------------------------------------------
// One face: facesjs's draw, then ddim's controlled attributes, then the overrides.
// cfg = { seed: BigInt, p: {male, eyeglasses, beard, smiling|undefined}, uniform: Set }

function makeFace(index, cfg, set) {
  const t = tables();
  const u = (name) => stream(cfg.seed, index, name)();
  // Every controlled draw is made for every face, used or not.
  const d = {
    male: u("male"), eyeglasses: u("eyeglasses"), glasses: u("glasses"), beard: u("beard"),
    facial_hair: u("facial_hair"), smiling: u("smiling"), mouth: u("mouth"),
    hair_colour: u("hair_colour"), skin_tone: u("skin_tone"),
  };
  const male = set.male !== undefined ? set.male === "yes" : d.male < cfg.p.male;

  const saved = Math.random;
  let face;
  Math.random = stream(cfg.seed, index, "face");
  try {
    face = FJ.generate(undefined, { gender: male ? "male" : "female" });
  } finally {
    Math.random = saved;
  }
  // Hats replace the hair while rendering: never draw accessories.
  face.accessories.id = "none";

  // Glasses: yes/no from the "eyeglasses" stream, the style from the "glasses" stream.
  const glassesStyle = pick(t.glasses, d.glasses);
  let eyeglasses = d.eyeglasses < cfg.p.eyeglasses;
  if (set.eyeglasses !== undefined) eyeglasses = set.eyeglasses === "yes";
  face.glasses.id = eyeglasses ? glassesStyle : "none";
  if (set.glasses !== undefined) face.glasses.id = set.glasses;

  // Facial hair: males only by default.
  const beardStyle = pick(t.facialHair, d.facial_hair);
  let beard = male && d.beard < cfg.p.beard;
  if (set.beard !== undefined) beard = set.beard === "yes";
  face.facialHair.id = beard ? beardStyle : "none";
  if (set.facial_hair !== undefined) face.facialHair.id = set.facial_hair;

  // Mouth: facesjs's own draw unless --p smiling makes smiling a controlled draw. Either way a
  // mouth of the wrong kind is replaced by one picked by the "mouth" stream (facesjs draws all
  // mouths uniformly, so the mouth stays uniform within its kind).
  const setSmiling = (want) => {
    if (SMILING_MOUTHS.includes(face.mouth.id) !== want) {
      face.mouth.id = pick(want ? t.smiling : t.notSmiling, d.mouth);
    }
  };
  if (cfg.p.smiling !== undefined) setSmiling(d.smiling < cfg.p.smiling);
  if (set.smiling !== undefined) setSmiling(set.smiling === "yes");
  if (set.mouth !== undefined) face.mouth.id = set.mouth;

  // Colours: facesjs's race palettes unless --uniform.
  if (cfg.uniform.has("hair_colour")) face.hair.color = pick(HAIR_COLOURS, d.hair_colour)[1];
  if (set.hair_colour !== undefined) face.hair.color = t.hairHex[set.hair_colour];
  if (cfg.uniform.has("skin_tone")) face.body.color = pick(SKIN_COLOURS, d.skin_tone);
  if (set.skin_tone !== undefined) face.body.color = SKIN_COLOURS[Number(set.skin_tone) - 1];

  if (set.hair_style !== undefined) face.hair.id = set.hair_style;
  // facesjs draws the long hair behind the head (hairBg) independently of the hair style: a bald
  // face never gets it.
  if (face.hair.id === "bald") face.hairBg.id = "none";
  return { face, male };
}

function attributesOf(face, male) {
  const t = tables();
  const yn = (b) => (b ? "yes" : "no");
  const hairColour = t.hairName[face.hair.color];
  const smiling = SMILING_MOUTHS.includes(face.mouth.id);
  const beard = face.facialHair.id !== "none";
  return {
    male: yn(male),
    eyeglasses: yn(face.glasses.id !== "none"),
    glasses: face.glasses.id,
    beard: yn(beard),
    facial_hair: face.facialHair.id,
    smiling: yn(smiling),
    mouth: face.mouth.id,
    hair_colour: hairColour,
    hair_style: face.hair.id,
    skin_tone: t.skinTone[face.body.color],
    bald: yn(face.hair.id === "bald"),
    black_hair: yn(HAIR_GROUP[hairColour] === "black"),
    brown_hair: yn(HAIR_GROUP[hairColour] === "brown"),
    blond_hair: yn(HAIR_GROUP[hairColour] === "blond"),
    red_hair: yn(HAIR_GROUP[hairColour] === "red"),
    no_beard: yn(!beard),
  };
}

// ---------------------------------------------------------------------------------------------
// Rasterising and PNG encoding

// The SVG canvas is 400x600 (head above a body); this square frames the head (ears and long hair
// included) and a bit of the collar. Only the tips of the top-knots of two hair styles (dreads,
// female8) reach above it.
const VIEWBOX = "-40 25 480 480";

function renderRGB(face, size) {
  let svg = FJ.faceToSvgString(face);
  svg = svg.replace(/^<svg[^>]*>/,
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${VIEWBOX}" width="${size}" height="${size}">`);
  const img = new FJ.Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "width", value: size },
    font: { loadSystemFonts: false },
  }).render();
  if (img.width !== size || img.height !== size) throw new Error(`resvg rendered ${img.width}x${img.height}`);
  const rgba = img.pixels;
  const rgb = Buffer.alloc(size * size * 3); // not pooled: its ArrayBuffer is transferred
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
// 8-bit RGB PNG; each row gets the filter with the smallest sum of absolute values (libpng's
// heuristic).
function encodePNG(rgb, w, h) {
  const stride = w * 3;
  const raw = Buffer.alloc((stride + 1) * h);
  const cand = Array.from({ length: 5 }, () => Buffer.alloc(stride));
  const zero = Buffer.alloc(stride);
  for (let y = 0; y < h; y++) {
    const cur = rgb.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? rgb.subarray((y - 1) * stride, y * stride) : zero;
    let best = 0, bestSum = Infinity;
    for (let f = 0; f < 5; f++) {
      const o = cand[f];
      let sum = 0;
      for (let x = 0; x < stride; x++) {
        const a = x >= 3 ? cur[x - 3] : 0, b = up[x], c = x >= 3 ? up[x - 3] : 0;
        let pred;
        if (f === 0) pred = 0;
        else if (f === 1) pred = a;
        else if (f === 2) pred = b;
        else if (f === 3) pred = (a + b) >> 1;
        else {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const v = (cur[x] - pred) & 0xff;
        o[x] = v;
        sum += v < 128 ? v : 256 - v;
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
      }
    }
    raw[y * (stride + 1)] = best;
    cand[best].copy(raw, y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw, { level: 6 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}-${threadId}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

const pngName = (i) => `${i % 10 === 9 ? "test" : "train"}/${String(i).padStart(6, "0")}.png`;

// ---------------------------------------------------------------------------------------------
// Work units, run in a worker thread or (with --jobs 1) in the main thread.
//   set:    {start, end}        -> writes the PNGs, returns {rows: [[index, attributes], ...]}
//   oracle: {items: [{k, index, set}]} -> returns {items: [{k, rgb, attrs}]}

function runUnit(job, unit) {
  const cfg = cfgFromWire(job.cfg);
  if (job.mode === "set") {
    const rows = [];
    for (let i = unit.start; i < unit.end; i++) {
      const { face, male } = makeFace(i, cfg, {});
      rows.push([i, attributesOf(face, male)]);
      const rgb = renderRGB(face, cfg.size);
      writeAtomic(path.join(job.out, pngName(i)), encodePNG(rgb, cfg.size, cfg.size));
    }
    return { rows };
  }
  const items = unit.items.map(({ k, index, set }) => {
    const { face, male } = makeFace(index, cfg, set);
    const attrs = attributesOf(face, male);
    return { k, rgb: renderRGB(face, cfg.size), attrs };
  });
  return { items };
}

const cfgToWire = (cfg) => ({ ...cfg, seed: cfg.seed.toString(), uniform: [...cfg.uniform] });
const cfgFromWire = (w) => ({ ...w, seed: BigInt(w.seed), uniform: new Set(w.uniform) });

// Runs the units on `jobs` threads; onResult(unitIndex, result) is called in the main thread.
async function runUnits(job, units, jobs, onResult) {
  if (jobs <= 1 || units.length <= 1) {
    for (let u = 0; u < units.length; u++) onResult(u, runUnit(job, units[u]));
    return;
  }
  const n = Math.min(jobs, units.length);
  let next = 0;
  await new Promise((resolve, reject) => {
    let live = n, failed = false;
    const workers = [];
    const feed = (w) => {
      if (next < units.length) {
        w.current = next;
        w.postMessage({ u: next, unit: units[next++] });
      } else {
        w.postMessage(null);
      }
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
      workers.push(w);
      w.on("message", (msg) => {
        if (failed) return;
        if (msg.error) {
          failed = true;
          workers.forEach((x) => x.terminate());
          reject(new Error(msg.error));
          return;
        }
        if (msg.ready) {
          feed(w);
          return;
        }
        try {
          onResult(msg.u, msg.result);
        } catch (e) {
          failed = true;
          workers.forEach((x) => x.terminate());
          reject(e);
          return;
        }
        feed(w);
      });
      w.on("error", (e) => {
        if (failed) return;
        failed = true;
        workers.forEach((x) => x.terminate());
        reject(e);
      });
      w.on("exit", () => {
        if (--live === 0 && !failed) resolve();
      });
    }
  });
}

async function workerMain() {
  try {
    await loadDeps();
    tables();
  } catch (e) {
    parentPort.postMessage({ error: e.message });
    return;
  }
  parentPort.on("message", (msg) => {
    if (msg === null) {
      parentPort.close();
      return;
    }
    try {
      const result = runUnit(workerData, msg.unit);
      const transfer = result.items ? result.items.map((it) => it.rgb.buffer) : [];
      parentPort.postMessage({ u: msg.u, result }, transfer);
    } catch (e) {
      parentPort.postMessage({ error: e.message });
    }
  });
  parentPort.postMessage({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const mode = argv[0];
  if (mode === undefined) usage("missing mode: set or oracle (--help for usage)");
  if (mode === "--help" || mode === "-h" || mode === "help") return { help: true };
  if (mode !== "set" && mode !== "oracle") usage(`unknown mode '${mode}'; valid: set, oracle`);
  const known = mode === "set"
    ? ["out", "size", "count", "seed", "p", "uniform", "jobs"]
    : ["requests", "out", "size", "seed", "p", "uniform", "jobs"];
  const o = { mode, p: [], uniform: [] };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return { help: true };
    if (!a.startsWith("--")) usage(`unexpected argument '${a}'`);
    let name = a.slice(2), value;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (!known.includes(name)) usage(`unknown option '--${name}' for ${mode}; valid: ${known.map((k) => "--" + k).join(", ")}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) usage(`--${name} needs a value`);
      value = argv[++i];
    }
    if (name === "p" || name === "uniform") o[name].push(value);
    else o[name] = value;
  }
  return o;
}

function parseInteger(name, s, lo, hi) {
  if (!/^-?[0-9]+$/.test(s)) usage(`--${name} '${s}' is not an integer`);
  const v = Number(s);
  if (v < lo) usage(`--${name} ${s} is below ${lo}`);
  if (v > hi) usage(`--${name} ${s} is above ${hi}`);
  return v;
}

function buildConfig(o) {
  const size = o.size === undefined ? 64 : parseInteger("size", o.size, 16, 512);
  let seed = 0n;
  if (o.seed !== undefined) {
    if (!/^[0-9]+$/.test(o.seed) || BigInt(o.seed) > M64) usage(`--seed '${o.seed}' is not an integer in [0, 2^64)`);
    seed = BigInt(o.seed);
  }
  const p = { ...P_DEFAULT };
  for (const spec of o.p) {
    const eq = spec.indexOf("=");
    if (eq < 0) usage(`--p '${spec}' is not NAME=PROB`);
    const name = spec.slice(0, eq), val = spec.slice(eq + 1);
    if (!P_NAMES.includes(name)) usage(`--p: unknown attribute '${name}'; valid: ${P_NAMES.join(", ")}`);
    const v = Number(val);
    if (val.trim() === "" || !Number.isFinite(v) || v < 0 || v > 1) usage(`--p ${name}: probability '${val}' is outside [0, 1]`);
    p[name] = v;
  }
  const uniform = new Set();
  for (const name of o.uniform) {
    if (!UNIFORM_NAMES.includes(name)) usage(`--uniform: unknown attribute '${name}'; valid: ${UNIFORM_NAMES.join(", ")}`);
    uniform.add(name);
  }
  let jobs = Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
  if (o.jobs !== undefined) jobs = parseInteger("jobs", o.jobs, 1, 1024);
  return { size, seed, p, uniform, jobs };
}

// Checks an override set against the vocabulary (needs facesjs's id lists).
function checkSet(set, where) {
  const t = tables();
  if (set === undefined || set === null) return {};
  if (typeof set !== "object" || Array.isArray(set)) usage(`${where}: "set" must be an object of NAME: VALUE`);
  for (const [name, value] of Object.entries(set)) {
    if (DERIVED[name] !== undefined) usage(`${where}: '${name}' is derived and cannot be set; set '${DERIVED[name]}' instead`);
    if (!PRIMARY.includes(name)) usage(`${where}: unknown attribute '${name}'; valid: ${PRIMARY.join(", ")}`);
    if (typeof value !== "string") usage(`${where}: value of '${name}' must be a string`);
    const vals = t.values[name];
    if (!vals.includes(value)) usage(`${where}: unknown value '${value}' for '${name}'; valid: ${vals.join(", ")}`);
  }
  const clash = (a, b, ok) => {
    if (set[a] !== undefined && set[b] !== undefined && !ok(set[a], set[b])) usage(`${where}: '${a}=${set[a]}' contradicts '${b}=${set[b]}'`);
  };
  clash("eyeglasses", "glasses", (e, g) => (e === "yes") === (g !== "none"));
  clash("beard", "facial_hair", (b, f) => (b === "yes") === (f !== "none"));
  clash("smiling", "mouth", (s, m) => (s === "yes") === SMILING_MOUTHS.includes(m));
  return { ...set };
}

const shellQuote = (s) => (/^[A-Za-z0-9_./=:,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function runSet(o, cfg) {
  if (o.out === undefined || o.out === "") usage("missing --out DIR");
  const count = o.count === undefined ? 30000 : parseInteger("count", o.count, 1, 1000000);
  const t = tables();
  const out = path.resolve(o.out);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) usage(`--out '${o.out}' exists and is not a directory`);

  fs.mkdirSync(path.join(out, "train"), { recursive: true });
  fs.mkdirSync(path.join(out, "test"), { recursive: true });
  fs.rmSync(path.join(out, "faces.json"), { force: true }); // the folder is incomplete until the end

  const UNIT = 50;
  const units = [];
  for (let s = 0; s < count; s += UNIT) units.push({ start: s, end: Math.min(count, s + UNIT) });
  const rows = new Array(count);
  const step = Math.max(1, Math.ceil(count / 200));
  let done = 0, reported = 0;
  process.stderr.write(`progress 0 ${count}\n`);
  await runUnits({ mode: "set", cfg: cfgToWire(cfg), out }, units, cfg.jobs, (_u, res) => {
    for (const [i, a] of res.rows) rows[i] = a;
    done += res.rows.length;
    if (Math.floor(done / step) > Math.floor(reported / step) || done === count) {
      reported = done;
      process.stderr.write(`progress ${done} ${count}\n`);
    }
  });

  // attributes.csv
  const lines = [["file", ...ATTRIBUTES].join(",")];
  for (let i = 0; i < count; i++) lines.push([pngName(i), ...ATTRIBUTES.map((a) => rows[i][a])].join(","));
  writeAtomic(path.join(out, "attributes.csv"), lines.join("\n") + "\n");

  writeAtomic(path.join(out, "LICENSE.facesjs"), fs.readFileSync(FJ.licensePath));

  // "p": the probabilities of ddim's own draws, exactly the --p values that re-create the set
  // (defaults included); "p_native": the rates of facesjs's own draws that no --p controls.
  const pEff = { ...cfg.p };
  const native = {};
  if (pEff.smiling === undefined) {
    delete pEff.smiling;
    native.smiling = t.smilingNative;
  }
  const nTest = Math.floor(count / 10);
  const manifest = {
    format: 1,
    generator: "facesjs",
    facesjs: FJ.facesjsVersion,
    resvg: FJ.resvgVersion,
    size: cfg.size,
    count,
    seed: cfg.seed.toString(),
    p: pEff,
    p_native: native,
    uniform: UNIFORM_NAMES.filter((n) => cfg.uniform.has(n)),
    split: "test when index % 10 == 9",
    train: count - nTest,
    test: nTest,
    image: { channels: 3, background: "#ffffff", viewBox: VIEWBOX },
    attributes: ATTRIBUTES.map((name) => ({
      name,
      values: t.values[name],
      ...(DERIVED[name] ? { derived_from: DERIVED[name] } : {}),
    })),
  };

  const command = ["node", "tools/faces/render.mjs", ...process.argv.slice(2)].map(shellQuote).join(" ");
  writeAtomic(path.join(out, "README.md"), readme(manifest, rows, command));
  // The seed is written as a JSON integer, exact up to 2^64 - 1 (JSON.stringify has no BigInt).
  const json = JSON.stringify({ ...manifest, seed: "@SEED@" }, null, 2).replace('"@SEED@"', cfg.seed.toString());
  writeAtomic(path.join(out, "faces.json"), json + "\n");
}

function readme(m, rows, command) {
  const t = tables();
  const n = rows.length;
  const share = (name) => {
    const k = rows.reduce((s, r) => s + (r[name] === "yes" ? 1 : 0), 0);
    return `${((100 * k) / n).toFixed(1)}%`;
  };
  const dflt = {
    male: `yes with p = ${m.p.male} (ddim's draw)`,
    eyeglasses: `yes with p = ${m.p.eyeglasses} (ddim's draw)`,
    glasses: "when eyeglasses = yes, uniform over the 5 glasses styles",
    beard: `yes with p = ${m.p.beard} for males, never for females (ddim's draw)`,
    facial_hair: `when beard = yes, uniform over the ${t.facialHair.length} facial hair styles`,
    smiling: m.p_native.smiling !== undefined
      ? `facesjs's own uniform mouth draw: ${t.smiling.length} of ${t.values.mouth.length} mouths smile (p = ${m.p_native.smiling.toFixed(4)})`
      : `yes with p = ${m.p.smiling} (ddim's draw)`,
    mouth: m.p_native.smiling !== undefined
      ? "facesjs's uniform draw over all mouths"
      : "facesjs's draw when it is of the drawn kind (smiling or not), else uniform over that kind",
    hair_colour: m.uniform.includes("hair_colour")
      ? "uniform over the 10 colours"
      : "facesjs's draw from the palette of the face's race (mostly the black shades)",
    hair_style: "facesjs's draw among the styles of the face's gender",
    skin_tone: m.uniform.includes("skin_tone")
      ? "uniform over the 11 tones"
      : "facesjs's draw from the palette of the face's race (race uniform over 4)",
  };
  const derivedRule = {
    bald: "hair_style = bald",
    black_hair: "hair_colour in jet_black, soft_black, black",
    brown_hair: "hair_colour in dark_brown, chestnut, brown, light_brown",
    blond_hair: "hair_colour in ash_blond, golden_blond",
    red_hair: "hair_colour = auburn",
    no_beard: "beard = no",
  };
  const binary = (name) => t.values[name] === YES_NO;
  const vals = (name) => {
    const v = t.values[name];
    return v.length > 12 ? `${v.length} values: ${v.slice(0, 6).join(", ")}, ... (faces.json lists all)` : v.join(", ");
  };
  const table = m.attributes.map(({ name }) =>
    `| \`${name}\` | ${DERIVED[name] ? "derived" : "primary"} | ${vals(name)} | ${DERIVED[name] ? derivedRule[name] : dflt[name]} | ${binary(name) ? share(name) : ""} |`);
  const hex = HAIR_COLOURS.map(([nm, h]) => `\`${nm}\` ${h}`).join(", ");
  return `# Cartoon faces (facesjs), ${m.size}x${m.size}

${m.count} labelled cartoon faces, drawn as SVG by facesjs ${m.facesjs} and rasterised by resvg-js
${m.resvg} on a white background: 8-bit RGB PNGs of ${m.size}x${m.size} pixels, framed on the head
(SVG viewBox \`${VIEWBOX}\` of facesjs's 400x600 canvas). Every image is a pure function of its
index, the seed and the probabilities below: re-running the command re-creates the same pixels.

Made by:

    ${command}

(\`--jobs\` does not change the output.)

## Layout

- \`train/IIIIII.png\` (${m.train} images) and \`test/IIIIII.png\` (${m.test} images, index % 10 == 9)
- \`attributes.csv\`: \`file,${ATTRIBUTES.join(",")}\`, one row per image in index order
- \`faces.json\`: the manifest (written last: a folder without it is incomplete)
- \`LICENSE.facesjs\`: facesjs's licence

## Attributes

Primary attributes can be overridden for a counterfactual (\`render.mjs oracle\`); derived ones follow
from them. Share = fraction of "yes" in this set.

| name | kind | values | default | share |
|---|---|---|---|---|
${table.join("\n")}

Hair colours (facesjs's palettes, darkest first): ${hex}.
Skin tones 1..11 are facesjs's 11 skin colours ordered from lightest to darkest by luminance:
${SKIN_COLOURS.map((h, i) => `${i + 1} ${h}`).join(", ")}.
Hair colour also colours the eyebrows, the facial hair and the hair behind the head (which
facesjs draws for most females and some males, whatever the hair style; never for bald faces).
facesjs's hats and face masks are never drawn.

## Determinism

facesjs's \`generate\` runs with Math.random replaced by an sfc32 stream seeded from (seed, index)
by splitmix64 mixing; ddim's own draws (male, eyeglasses, glasses style, beard, facial hair style,
smiling, mouth, hair colour, skin tone) each use a separate stream seeded from (seed, index, name),
so changing one probability changes no other attribute of any face, except \`male\`: facesjs draws
most features conditional on gender, so flipping it gives another person (same skin and hair colour).

## Credit

Faces drawn by facesjs by Jeremy Scheff, https://github.com/zengm-games/facesjs, Apache License 2.0
(see LICENSE.facesjs). Rasterised with resvg-js (https://github.com/yisibl/resvg-js, MPL-2.0).
`;
}

async function runOracle(o, cfg) {
  if (o.requests === undefined || o.requests === "") usage("missing --requests REQ.json");
  if (o.out === undefined || o.out === "") usage("missing --out OUT.bin");
  let reqs;
  try {
    reqs = JSON.parse(fs.readFileSync(o.requests, "utf8"));
  } catch (e) {
    usage(`cannot read requests file '${o.requests}': ${e.message.split("\n")[0]}`);
  }
  if (!Array.isArray(reqs)) usage(`requests file '${o.requests}' is not a JSON array`);
  const items = reqs.map((r, k) => {
    const where = `request ${k}`;
    if (r === null || typeof r !== "object" || Array.isArray(r)) usage(`${where} is not an object`);
    for (const key of Object.keys(r)) if (key !== "index" && key !== "set") usage(`${where}: unknown key '${key}'; valid: index, set`);
    const index = r.index;
    if (typeof index !== "number" || !Number.isSafeInteger(index)) usage(`${where}: index '${JSON.stringify(index)}' is not an integer`);
    if (index < 0) usage(`${where}: index ${index} is negative`);
    return { k, index, set: checkSet(r.set, where) };
  });
  const out = path.resolve(o.out);
  const bytes = cfg.size * cfg.size * 3;
  const UNIT = 16;
  const units = [];
  for (let s = 0; s < items.length; s += UNIT) units.push({ items: items.slice(s, s + UNIT) });
  const attrs = new Array(items.length);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    await runUnits({ mode: "oracle", cfg: cfgToWire(cfg) }, units, cfg.jobs, (_u, res) => {
      for (const it of res.items) {
        const rgb = Buffer.from(it.rgb.buffer, it.rgb.byteOffset, bytes);
        fs.writeSync(fd, rgb, 0, bytes, it.k * bytes);
        attrs[it.k] = it.attrs;
      }
    });
    fs.ftruncateSync(fd, items.length * bytes);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  writeAtomic(`${out}.json`, JSON.stringify(attrs) + "\n");
  fs.renameSync(tmp, out);
}

async function main() {
  try {
    const o = parseArgs(process.argv.slice(2));
    if (o.help) {
      process.stdout.write(HELP);
      return;
    }
    const cfg = buildConfig(o);
    await loadDeps();
    tables();
    if (o.mode === "set") await runSet(o, cfg);
    else await runOracle(o, cfg);
  } catch (e) {
    const msg = String(e instanceof Error ? e.message : e).split("\n")[0];
    process.stderr.write(`render-faces: ${e instanceof UsageError ? "" : "error: "}${msg}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

if (isMainThread) await main();
else await workerMain();
