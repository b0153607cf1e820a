// Image export: the recording context's SVG, the snapshot of a mounted view, and the buttons and
// kernel requests of attachExport.
import { afterEach, describe, expect, it, vi } from "vitest";
import { attachExport, colourRuns, RecordingContext, serializeSvg, snapshotSvg, type DrawContext, type ExportModel } from "../src/lib/export";
import { SVG_NS } from "../src/lib/svg";

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

/** The recorded drawing as a standalone SVG document, parsed back from its text. */
function parsed(ctx: RecordingContext): Document {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("width", String(ctx.width));
  svg.setAttribute("height", String(ctx.height));
  svg.append(ctx.group);
  return new DOMParser().parseFromString(serializeSvg(svg), "image/svg+xml");
}

/** An RGBA image of `width` x `height` pixels, all transparent but the given ones. */
function image(width: number, height: number, pixels: [number, number, [number, number, number, number]][]): ImageData {
  const data = new Uint8ClampedArray(width * height * 4);
  for (const [x, y, rgba] of pixels) data.set(rgba, (y * width + x) * 4);
  return { data, width, height, colorSpace: "srgb" } as ImageData;
}

describe("RecordingContext", () => {
  it("turns a stroked polyline into one path through its points", () => {
    const ctx = new RecordingContext(100, 50);
    ctx.strokeStyle = "#1976d2";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(1, 2);
    ctx.lineTo(30, 40.125);
    ctx.lineTo(99.999, 0);
    ctx.stroke();
    const [path, ...rest] = Array.from(parsed(ctx).querySelectorAll("path"));
    expect(rest).toEqual([]);
    expect(path!.getAttribute("d")).toBe("M1,2L30,40.13L100,0");
    expect(path!.getAttribute("fill")).toBe("none");
    expect(path!.getAttribute("stroke")).toBe("#1976d2");
    expect(path!.getAttribute("stroke-width")).toBe("2");
  });

  it("starts a new subpath at each moveTo, as the canvas does", () => {
    const ctx = new RecordingContext(10, 10);
    ctx.beginPath();
    for (const y of [1, 5]) {
      ctx.moveTo(0, y);
      ctx.lineTo(9, y);
    }
    ctx.stroke();
    expect(parsed(ctx).querySelector("path")!.getAttribute("d")).toBe("M0,1L9,1M0,5L9,5");
  });

  it("writes alpha and dashes as attributes and forgets the path on beginPath", () => {
    const ctx = new RecordingContext(10, 10);
    ctx.globalAlpha = 0.25;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.lineTo(5, 5);
    ctx.stroke();
    ctx.beginPath();
    ctx.globalAlpha = 1;
    ctx.setLineDash([]);
    ctx.moveTo(1, 1);
    ctx.lineTo(2, 2);
    ctx.stroke();
    const [dashed, plain] = Array.from(parsed(ctx).querySelectorAll("path"));
    expect(dashed!.getAttribute("stroke-opacity")).toBe("0.25");
    expect(dashed!.getAttribute("stroke-dasharray")).toBe("6 4");
    expect(plain!.getAttribute("d")).toBe("M1,1L2,2");
    expect(plain!.hasAttribute("stroke-opacity")).toBe(false);
    expect(plain!.hasAttribute("stroke-dasharray")).toBe(false);
  });

  it("sets text as text: markup in a label stays characters", () => {
    const label = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`;
    const ctx = new RecordingContext(100, 20);
    ctx.font = "10px monospace";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#616161";
    ctx.fillText(label, 40, 10);
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.append(ctx.group);
    const text = serializeSvg(svg);
    expect(text).not.toContain("<script");
    expect(text).not.toContain("<img");
    expect(text).toContain("&lt;script&gt;");
    const doc = parsed(ctx);
    const node = doc.querySelector("text")!;
    expect(node.textContent).toBe(label);
    expect(doc.querySelector("script, img")).toBeNull();
    expect(node.getAttribute("text-anchor")).toBe("end");
    expect(node.getAttribute("dominant-baseline")).toBe("central");
    expect(node.getAttribute("font-size")).toBe("10");
    expect(node.getAttribute("font-family")).toBe("monospace");
    expect([node.getAttribute("x"), node.getAttribute("y")]).toEqual(["40", "10"]);
  });

  it("draws a full circle as two half arcs that start and end at angle 0", () => {
    const ctx = new RecordingContext(50, 50);
    ctx.beginPath();
    ctx.moveTo(13, 10);
    ctx.arc(10, 10, 3, 0, 2 * Math.PI);
    ctx.fillStyle = "#2ca02c";
    ctx.fill();
    const path = parsed(ctx).querySelector("path")!;
    expect(path.getAttribute("d")).toBe("M13,10L13,10A3,3 0 1 1 7,10A3,3 0 1 1 13,10");
    expect(path.getAttribute("fill")).toBe("#2ca02c");
  });

  it("draws a quarter arc with the small-arc flag and ends at the right point", () => {
    const ctx = new RecordingContext(50, 50);
    ctx.beginPath();
    ctx.arc(0, 0, 10, 0, Math.PI / 2);
    ctx.stroke();
    expect(parsed(ctx).querySelector("path")!.getAttribute("d")).toBe("M10,0A10,10 0 0 1 0,10");
  });

  it("normalises a fillRect of negative size", () => {
    const ctx = new RecordingContext(50, 50);
    ctx.fillRect(10, 20, -4, -6);
    const rect = parsed(ctx).querySelector("rect")!;
    expect(["x", "y", "width", "height"].map((a) => rect.getAttribute(a))).toEqual(["6", "14", "4", "6"]);
  });

  it("restores the style saved before", () => {
    const ctx = new RecordingContext(10, 10);
    ctx.strokeStyle = "red";
    ctx.setLineDash([2, 2]);
    ctx.save();
    ctx.strokeStyle = "blue";
    ctx.setLineDash([]);
    ctx.restore();
    ctx.beginPath();
    ctx.moveTo(0, 0);
    ctx.lineTo(1, 1);
    ctx.stroke();
    const path = parsed(ctx).querySelector("path")!;
    expect(path.getAttribute("stroke")).toBe("red");
    expect(path.getAttribute("stroke-dasharray")).toBe("2 2");
  });

  it("turns a density image into vector rects in CSS pixels, never an <image>", () => {
    const red: [number, number, number, number] = [255, 0, 0, 255];
    const blue: [number, number, number, number] = [0, 0, 255, 128];
    // 4 x 2 image pixels drawn on a 2 x 1 CSS pixel context: 2 image pixels per CSS pixel
    const ctx = new RecordingContext(2, 1);
    const img = image(4, 2, [
      [0, 0, red],
      [1, 0, red],
      [3, 0, blue],
    ]);
    ctx.putImageData(img, 0, 0);
    const doc = parsed(ctx);
    expect(doc.querySelector("image")).toBeNull();
    const rects = Array.from(doc.querySelectorAll("rect"));
    expect(rects.map((r) => ["x", "y", "width", "height"].map((a) => Number(r.getAttribute(a))))).toEqual([
      [0, 0, 1, 0.5],
      [1.5, 0, 0.5, 0.5],
    ]);
    expect(rects[0]!.hasAttribute("fill-opacity")).toBe(false); // opaque
    expect(Number(rects[1]!.getAttribute("fill-opacity"))).toBeCloseTo(128 / 255, 1);
  });

  it("makes image data of the size asked for", () => {
    const img = new RecordingContext(10, 10).createImageData(6, 4);
    expect([img.width, img.height, img.data.length]).toEqual([6, 4, 96]);
  });
});

describe("colourRuns", () => {
  it("merges neighbours whose colours differ below the quantisation step, splits at gaps", () => {
    const img = image(5, 1, [
      [0, 0, [100, 100, 100, 255]],
      [1, 0, [101, 100, 100, 255]],
      [2, 0, [200, 10, 10, 255]],
      [4, 0, [200, 10, 10, 255]],
    ]);
    expect(colourRuns(img).map((r) => [r.x, r.length])).toEqual([
      [0, 2],
      [2, 1],
      [4, 1],
    ]);
  });

  it("leaves a fully transparent image without any run", () => {
    expect(colourRuns(image(8, 8, []))).toEqual([]);
  });
});

describe("snapshotSvg", () => {
  function mounted(): { root: HTMLDivElement; canvas: HTMLCanvasElement; toolbar: HTMLDivElement } {
    const root = document.createElement("div");
    const toolbar = document.createElement("div");
    const button = document.createElement("button");
    button.textContent = "PNG";
    toolbar.append(button);
    const canvas = document.createElement("canvas");
    const svg = document.createElementNS(SVG_NS, "svg");
    const circle = document.createElementNS(SVG_NS, "circle");
    circle.setAttribute("r", "3");
    svg.append(circle);
    root.append(toolbar, canvas, svg);
    document.body.append(root);
    return { root, canvas, toolbar };
  }

  it("re-draws canvases through their painters and clones the SVG, leaving out skipped parts", () => {
    const { root, canvas, toolbar } = mounted();
    const painter = vi.fn((ctx: DrawContext) => {
      ctx.beginPath();
      ctx.moveTo(0, 0);
      ctx.lineTo(10, 10);
      ctx.stroke();
    });
    const svg = snapshotSvg(root, { painters: new Map([[canvas, painter]]), skip: (node) => node === toolbar });
    expect(painter).toHaveBeenCalledTimes(1);
    const doc = new DOMParser().parseFromString(serializeSvg(svg), "image/svg+xml");
    expect(doc.documentElement.namespaceURI).toBe(SVG_NS);
    expect(doc.querySelector("path")!.getAttribute("d")).toBe("M0,0L10,10");
    expect(doc.querySelectorAll("svg circle")).toHaveLength(1);
    expect(doc.querySelector("image, foreignObject")).toBeNull();
    expect(serializeSvg(svg)).not.toContain("PNG");
  });

  it("leaves out a canvas without a painter and hidden elements", () => {
    const { root, canvas } = mounted();
    root.querySelector("svg")!.setAttribute("hidden", "");
    (root.querySelector("svg") as unknown as HTMLElement).style.display = "none";
    const svg = snapshotSvg(root);
    expect(svg.querySelector("path, circle")).toBeNull();
    expect(canvas.isConnected).toBe(true);
  });
});

interface Sent {
  content: Record<string, unknown>;
  buffers: ArrayBuffer[];
}

/** A model with the calls attachExport makes, recording them. */
function exportModel(attrs: Record<string, unknown>): ExportModel & { sent: Sent[]; saves: Record<string, unknown>[]; emit(msg: unknown): void; listeners(): number } {
  const handlers: ((msg: unknown) => void)[] = [];
  const sent: Sent[] = [];
  const saves: Record<string, unknown>[] = [];
  let unsaved: Record<string, unknown> = {};
  return {
    sent,
    saves,
    get: (key) => attrs[key],
    set: (key, value) => {
      attrs[key] = value;
      unsaved[key] = value;
    },
    save_changes: () => {
      saves.push(unsaved);
      unsaved = {};
    },
    send: (content, _callbacks, buffers) => sent.push({ content: content as Record<string, unknown>, buffers: buffers ?? [] }),
    on: (name, cb) => {
      if (name === "msg:custom") handlers.push(cb);
    },
    off: (_name, cb) => {
      const i = handlers.indexOf(cb as (msg: unknown) => void);
      if (i >= 0) handlers.splice(i, 1);
    },
    emit: (msg) => handlers.forEach((h) => h(msg)),
    listeners: () => handlers.length,
  };
}

function drawnTarget() {
  return {
    name: "TestView",
    svg: () => {
      const ctx = new RecordingContext(20, 10);
      ctx.beginPath();
      ctx.moveTo(0, 0);
      ctx.lineTo(20, 10);
      ctx.stroke();
      ctx.fillText("a<b", 1, 1);
      const svg = document.createElementNS(SVG_NS, "svg");
      svg.setAttribute("width", "20");
      svg.setAttribute("height", "10");
      svg.append(ctx.group);
      return svg;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("attachExport", () => {
  it("adds PNG and SVG buttons and counts the rendering while it lasts", () => {
    const model = exportModel({ _rendered: 0 });
    const toolbar = document.createElement("div");
    const cleanup = attachExport(model, toolbar, drawnTarget());
    expect(Array.from(toolbar.querySelectorAll("button"), (b) => b.textContent)).toEqual(["PNG", "SVG"]);
    expect(model.get("_rendered")).toBe(1);
    expect(model.saves).toEqual([{ _rendered: 1 }]);
    cleanup();
    expect(model.get("_rendered")).toBe(0);
    expect(model.listeners()).toBe(0);
    expect(toolbar.querySelector("button")).toBeNull();
  });

  it("does not touch a model without the _rendered trait", () => {
    const model = exportModel({});
    attachExport(model, document.createElement("div"), drawnTarget())();
    expect(model.saves).toEqual([]);
    expect(model.get("_rendered")).toBeUndefined();
  });

  it("answers the kernel's SVG request with the file as a binary buffer", async () => {
    const model = exportModel({ _rendered: 0 });
    attachExport(model, document.createElement("div"), drawnTarget());
    model.emit({ type: "export", id: "r1", format: "svg" });
    await vi.waitFor(() => expect(model.sent).toHaveLength(1));
    const [{ content, buffers }] = model.sent as [Sent];
    expect(content).toEqual({ type: "export_result", id: "r1", ok: true, format: "svg" });
    const text = new TextDecoder().decode(buffers[0]!);
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    expect(doc.querySelector("path")!.getAttribute("d")).toBe("M0,0L20,10");
    expect(doc.querySelector("text")!.textContent).toBe("a<b");
  });

  it("answers with the error when the front end cannot draw the file", async () => {
    const model = exportModel({ _rendered: 0 });
    const target = {
      name: "Broken",
      svg: (): SVGSVGElement => {
        throw new Error("no data yet");
      },
    };
    attachExport(model, document.createElement("div"), target);
    model.emit({ type: "export", id: "r2", format: "svg" });
    await vi.waitFor(() => expect(model.sent).toHaveLength(1));
    expect(model.sent[0]!.content).toEqual({ type: "export_result", id: "r2", ok: false, error: "no data yet" });
    expect(model.sent[0]!.buffers).toEqual([]);
  });

  it("ignores other custom messages", async () => {
    const model = exportModel({ _rendered: 0 });
    attachExport(model, document.createElement("div"), drawnTarget());
    model.emit({ type: "something else", id: "r3", format: "svg" });
    model.emit({ type: "export", id: "r4", format: "pdf" });
    await settle();
    expect(model.sent).toEqual([]);
  });

  it("downloads the SVG named after the view when its button is clicked", async () => {
    const urls: Blob[] = [];
    Object.assign(URL, { createObjectURL: (blob: Blob) => (urls.push(blob), "blob:test"), revokeObjectURL: () => {} });
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    const toolbar = document.createElement("div");
    attachExport(exportModel({}), toolbar, drawnTarget());
    toolbar.querySelector<HTMLButtonElement>(".rnnw-export-svg")!.click();
    await vi.waitFor(() => expect(clicked).toEqual(["TestView.svg"]));
    expect(urls[0]!.type).toBe("image/svg+xml");
    expect(await urls[0]!.text()).toContain("M0,0L20,10");
  });
});
