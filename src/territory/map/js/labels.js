// Names on the map (communes, QPV) by zoom level: see _Labels in elements.py.
var labels = (function () {
    var sources = [], pane = null, owner = null, measure = null, waiting = false;
    var PANE = "territory-labels", HEIGHT = 15, GAP = 4;
    var css = ".territory-label{position:absolute;white-space:nowrap;pointer-events:none;"
        + "color:#212121;line-height:" + HEIGHT + "px;text-shadow:0 0 2px #fff,0 0 2px #fff,"
        + "0 0 3px #fff,0 0 4px #fff}.territory-label-qpv{color:#ad1457;font-style:italic}";
    // The zoom from which a feature's name is shown: the first tier [threshold, zoom] whose
    // threshold the feature's rank reaches.
    var minZoom = function (tiers, rank) {
        for (var t = 0; t < tiers.length; t++) {
            if (rank >= tiers[t][0]) { return tiers[t][1]; }
        }
        return Infinity;
    };
    // Every name of the layers on the map, largest first; a name that would overlap one
    // already placed (or the map's edge) is left out.
    var place = function () {
        waiting = false;
        if (!pane || !owner) { return; }
        var map = owner, zoom = map.getZoom(), size = map.getSize(), wanted = [], s, i;
        pane.textContent = "";
        pane.style.display = "";
        for (s = 0; s < sources.length; s++) {
            var src = sources[s], o = src.options, f = src.names.features;
            var points = src.points.features;
            if (!src.on) { continue; }
            for (i = 0; i < f.length; i++) {
                var p = f[i].properties, rank = o.field ? (p[o.field] || 0) : o.rank;
                if (!p[o.name] || zoom < minZoom(o.tiers, rank)) { continue; }
                var c = points[i].geometry.coordinates;
                var at = map.latLngToContainerPoint([c[1], c[0]]);
                if (at.x < 0 || at.y < 0 || at.x > size.x || at.y > size.y) { continue; }
                var big = o.field && rank >= o.tiers[0][0];
                wanted.push({name: p[o.name], at: at, rank: rank, kind: o.kind,
                             font: (o.kind === "qpv" ? "italic 600 " : (big ? "700 " : "600 "))
                                 + (big ? 13 : 12) + "px system-ui,-apple-system,Segoe UI,"
                                 + "Roboto,sans-serif"});
            }
        }
        wanted.sort(function (a, b) { return b.rank - a.rank; });
        var placed = [];
        for (i = 0; i < wanted.length; i++) {
            var w = wanted[i];
            measure.font = w.font;
            var half = measure.measureText(w.name).width / 2;
            var box = [w.at.x - half - GAP, w.at.y - HEIGHT / 2 - GAP / 2,
                       w.at.x + half + GAP, w.at.y + HEIGHT / 2 + GAP / 2];
            if (box[0] < 0 || box[1] < 0 || box[2] > size.x || box[3] > size.y) { continue; }
            var free = true;
            for (var j = 0; j < placed.length && free; j++) {
                var q = placed[j];
                free = box[2] <= q[0] || box[0] >= q[2] || box[3] <= q[1] || box[1] >= q[3];
            }
            if (!free) { continue; }
            placed.push(box);
            var div = document.createElement("div");
            div.className = "territory-label territory-label-" + w.kind;
            div.style.font = w.font;
            div.style.lineHeight = HEIGHT + "px";
            div.style.marginLeft = -half + "px";
            div.style.marginTop = -HEIGHT / 2 + "px";
            div.textContent = w.name;
            L.DomUtil.setPosition(div, map.containerPointToLayerPoint(w.at));
            pane.appendChild(div);
        }
    };
    var later = function () {
        if (!waiting) { waiting = true; L.Util.requestAnimFrame(place); }
    };
    var attach = function (map) {
        if (owner) { return; }
        owner = map;
        var style = document.createElement("style");
        style.textContent = css;
        document.head.appendChild(style);
        measure = document.createElement("canvas").getContext("2d");
        // Under the SVG points (partners, places), above the canvas; never takes the mouse.
        pane = map.getPane(PANE) || map.createPane(PANE);
        pane.style.zIndex = 445;
        pane.style.pointerEvents = "none";
        map.on("zoomstart", function () { pane.style.display = "none"; });
        map.on("zoomend moveend resize", later);
    };
    var Layer = L.Layer.extend({
        // names: the layer's collection; points: where each of its names goes.
        initialize: function (names, points, options) {
            this._source = {names: names, points: points, options: options, on: false};
            sources.push(this._source);
        },
        onAdd: function (map) {
            attach(map);
            this._source.on = true;
            later();
        },
        onRemove: function () {
            this._source.on = false;
            later();
        }
    });
    return function (names, points, options) { return new Layer(names, points, options); };
})();
