// The map page: Leaflet over the territory's own GeoJSON background, then its public resources.
// No tiles unless the map_tile_url setting names a server, so the page works with the network cut.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const S = config.strings;
  const status = document.getElementById("map-status");
  const SOURCE_COLOURS = { hydro: "#1f77b4", pv: "#e6a800", biogas: "#2ca02c" };
  const BASE_STYLES = {
    outline: { color: "#6b6b6b", weight: 2, dashArray: "6 4", fill: true, fillColor: "#f3f1e7", fillOpacity: 0.5 },
    water: { color: "#3d8fd1", weight: 3, fillColor: "#9ccbf0", fillOpacity: 0.6 },
    road: { color: "#a36f3b", weight: 2.5 },
    building: { color: "#555", weight: 1, fillColor: "#bbb", fillOpacity: 0.8 },
    place: { color: "#333" },
    other: { color: "#888", weight: 1 },
  };

  const map = L.map("map", { zoomSnap: 0.25, attributionControl: true });
  // A view first: circles (ACC perimeters) are projected when added, which needs one.
  map.setView(config.centre || [46.6, 2.4], config.centre ? 13 : 5);
  map.attributionControl.setPrefix(false);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }

  function say(text) { status.textContent = text; }
  function esc(text) {
    const d = document.createElement("span");
    d.textContent = text == null ? "" : String(text);
    return d.innerHTML;
  }
  function link(p) {
    const name = esc(p.name || p.id || "");
    return p.uri ? `<a href="${esc(p.uri)}">${name}</a>` : name;
  }
  function percent(x) {
    return new Intl.NumberFormat(document.documentElement.lang, { style: "percent", maximumFractionDigits: 0 }).format(x);
  }
  function power(w) {
    const kw = w / 1000;
    return new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: kw >= 100 ? 0 : 1 }).format(kw) + " kW";
  }

  function energy(wh) {
    const units = [["GWh", 1e9], ["MWh", 1e6], ["kWh", 1e3], ["Wh", 1]];
    const [name, size] = units.find(([, s]) => Math.abs(wh) >= s) || units[units.length - 1];
    return new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 1 }).format(wh / size) + " " + name;
  }

  function drawBase(geojson) {
    const layer = L.geoJSON(geojson, {
      style: (f) => BASE_STYLES[f.properties.layer] || BASE_STYLES.other,
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 3, color: "#333", fillOpacity: 1 })
        .bindTooltip(esc(f.properties.name || ""), { permanent: true, direction: "right", className: "map-place" }),
      onEachFeature: (f, l) => { if (f.properties.name && f.geometry.type !== "Point") l.bindTooltip(esc(f.properties.name)); },
      interactive: true,
    }).addTo(map);
    return layer.getBounds();
  }

  function producerMarker(p, latlng) {
    const radius = 5 + 3 * Math.sqrt(Math.max(p.peak_power_w || 0, 0) / 1e5);
    const colour = SOURCE_COLOURS[p.source] || "#7f7f7f";
    return L.circleMarker(latlng, { radius, color: "#222", weight: 1, fillColor: colour, fillOpacity: 0.85 });
  }
  function transformerMarker(p, latlng) {
    const colour = p.peak_loading == null ? "#9e9e9e" : p.peak_loading >= 0.8 ? "#c0392b" : "#27ae60";
    const icon = L.divIcon({ className: "map-square", html: `<span style="background:${colour}"></span>`, iconSize: [14, 14] });
    return L.marker(latlng, { icon, keyboard: true, title: p.name || "" });
  }
  function buildingMarker(p, latlng) {
    const icon = L.divIcon({ className: "map-diamond", html: "<span></span>", iconSize: [14, 14] });
    return L.marker(latlng, { icon, keyboard: true, title: p.name || "" });
  }
  function popup(p) {
    const lines = [`<strong>${link(p)}</strong>`];
    if (p.kind === "producer") {
      lines.push(`${esc(S.producer)} · ${esc(p.source_label || p.source || "")}`);
      if (p.peak_power_w) lines.push(`${esc(S.peak)}: ${power(p.peak_power_w)}`);
    } else if (p.kind === "transformer") {
      lines.push(esc(S.transformer));
      lines.push(`${esc(S.loading)}: ${p.peak_loading == null ? esc(S.hidden) : percent(p.peak_loading)}`);
    } else if (p.kind === "public_building") {
      lines.push(esc(S.building));
    } else if (p.kind === "acc_perimeter") {
      lines.push(esc(S.operation));
    } else if (p.kind === "district") {
      lines.push(`${esc(S.district)} · ${esc(S.consumption)}: ${p.consumption_wh == null ? esc(S.hidden) : energy(p.consumption_wh)}`);
    }
    if (p.uri) lines.push(`<a href="${esc(p.uri)}">${esc(S.open)}</a>`);
    return lines.join("<br>");
  }

  function drawFeatures(geojson) {
    const layer = L.geoJSON(geojson, {
      pointToLayer: (f, latlng) => {
        const p = f.properties || {};
        if (p.kind === "transformer") return transformerMarker(p, latlng);
        if (p.kind === "public_building") return buildingMarker(p, latlng);
        return producerMarker(p, latlng);
      },
      // Only polygons given as such (a district, a perimeter drawn by its outline) take a style here: markers
      // keep the colours pointToLayer gave them.
      style: (f) => {
        const kind = f.properties && f.properties.kind;
        if (f.geometry.type === "Point") return {};
        return kind === "acc_perimeter" ? { color: "#8e44ad", weight: 2, fillOpacity: 0.05, dashArray: "4 4" }
          : { color: "#34495e", weight: 1, fillOpacity: 0.15 };
      },
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        l.bindPopup(popup(p));
        l.on("add", () => {
          const el = l.getElement && l.getElement();
          if (el) {
            el.setAttribute("data-kind", p.kind || "");
            if (f.id) el.setAttribute("data-id", f.id);
          }
        });
      },
    }).addTo(map);
    return layer.getBounds();
  }

  // A regional hub: each village where it says it is, with its latest public figures and who sent them.
  function villagePopup(p) {
    const lines = [`<strong>${esc(p.name)}</strong>`, esc(S.village)];
    for (const [figure, f] of Object.entries(p.figures || {})) {
      const label = (S.figures && S.figures[figure]) || figure;
      const value = f.reason === "not_sent" ? esc(S.notSent) : f.value == null ? esc(S.hidden) : energy(f.value);
      lines.push(`${esc(label)}: ${value}`);
    }
    lines.push(`${esc(S.sentBy)} ${esc(p.instance)} (${esc(p.url)}), ${esc(S.received)} ${esc(new Date(p.received_at * 1000).toISOString().slice(0, 16).replace("T", " "))} UTC`);
    return lines.join("<br>");
  }
  function drawVillages(geojson) {
    const layer = L.geoJSON(geojson, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 2, fillColor: "#d35400", fillOpacity: 0.9 }),
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        l.bindPopup(villagePopup(p));
        l.bindTooltip(esc(p.name), { permanent: true, direction: "right", className: "map-place" });
        l.on("add", () => {
          const el = l.getElement && l.getElement();
          if (el) { el.setAttribute("data-kind", "village"); el.setAttribute("data-id", f.id); }
        });
      },
    }).addTo(map);
    return layer.getBounds();
  }

  async function load(url) {
    if (!url) return null;
    const r = await fetch(url, { headers: { Accept: "application/geo+json, application/json" } });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return r.json();
  }

  Promise.all([load(config.baseUrl), load(config.featuresUrl), load(config.regionalUrl)]).then(([base, features, villages]) => {
    let bounds = null;
    if (base) bounds = drawBase(base);
    else if (config.baseUrl) say(S.noBase);
    if (features && features.features && features.features.length) {
      bounds = drawFeatures(features);  // the resources frame the view; the background is their context
    }
    if (villages && villages.features && villages.features.length) {
      const region = drawVillages(villages);  // a hub: its villages frame the view with its own resources
      bounds = bounds && bounds.isValid() ? bounds.extend(region) : region;
    }
    if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
    document.getElementById("map").setAttribute("data-ready", "1");
  }).catch((e) => {
    say(`${S.error} ${e.message}`);
    document.getElementById("map").setAttribute("data-ready", "error");
  });
})();
