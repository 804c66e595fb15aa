// The data of a collection, JSON in an element of the page (see _Collection).
var territoryData = function (id) {
    return JSON.parse(document.getElementById(id).textContent);
};
var territoryCompact = function (d) {
    // Mirrors _CompactCollection.features (maps.py); ES5 like the rest of the page.
    var x = 0, y = 0;
    var points = function (flat) {
        var out = [];
        for (var i = 0; i < flat.length; i += 2) {
            x += flat[i];
            y += flat[i + 1];
            out.push([x / d.s, y / d.s]);
        }
        return out;
    };
    var arcs = d.a.map(function (a) { return points(a); });
    var ring = function (refs) {
        var out = [], i, j;
        // An arc after the first starts where the previous one ends: its first point is left out.
        for (i = 0; i < refs.length; i++) {
            var arc = arcs[refs[i] < 0 ? ~refs[i] : refs[i]], last = arc.length - 1;
            for (j = i ? 1 : 0; j <= last; j++) { out.push(arc[refs[i] < 0 ? last - j : j]); }
        }
        return out;
    };
    var rings = function (polygon) { return polygon.map(function (r) { return ring(r); }); };
    var geometry = function (g) {
        if (d.k === 1) { return {type: "Point", coordinates: points(g)[0]}; }
        if (d.k === 2) {
            return typeof g[0] === "number" ? {type: "LineString", coordinates: points(g)}
                : {type: "MultiLineString", coordinates: g.map(function (l) { return points(l); })};
        }
        return typeof g[0][0] === "number" ? {type: "Polygon", coordinates: rings(g)}
            : {type: "MultiPolygon", coordinates: g.map(function (p) { return rings(p); })};
    };
    return {type: "FeatureCollection", features: d.g.map(function (g, f) {
        return {type: "Feature", properties: d.p[f], geometry: geometry(g)};
    })};
};