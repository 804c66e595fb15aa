// The frame probe of bench/smoothness.py: records animation frames and marks while a
// gesture runs, and when the Leaflet map settled; exposed as window.__territoryProbe.
() => {
  const map = Object.values(window).find((v) => v instanceof L.Map);
  if (!map) { throw new Error("no Leaflet map in this frame"); }
  const probe = {frames: [], recording: false, marks: {}, settled: null, view: null};
  const view = () => {
    const c = map.project(map.getCenter());
    return {x: c.x, y: c.y, zoom: map.getZoom()};
  };
  const tick = (t) => {
    if (probe.recording) { probe.frames.push(t); }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  map.on("moveend", () => {
    probe.view = view();
    requestAnimationFrame(() => requestAnimationFrame((t) => { probe.settled = t; }));
  });
  probe.start = () => {
    probe.frames = []; probe.marks = {start: performance.now()}; probe.settled = null;
    probe.before = view(); probe.view = null;
    probe.recording = true;
  };
  probe.mark = (name) => { probe.marks[name] = performance.now(); };
  probe.stop = () => {
    probe.recording = false;
    const {frames, marks, settled, before, view: after} = probe;
    return {frames, marks, settled, before, after};
  };
  window.__territoryProbe = probe;
}
