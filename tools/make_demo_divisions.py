"""Cut the demo's slice out of the national division table.

    python tools/make_demo_divisions.py ../shared/data/divisions-cn-2016.csv.gz \
        src/taocun/demo/data/divisions-demo.csv.gz

Keeps six real counties (with every township and village below them) and their
prefectures and provinces. Source: ADCODE, Vonng, data from the National Bureau of
Statistics, Ministry of Civil Affairs and Amap (CC BY 4.0).
"""

import csv
import gzip
import sys

# 义乌市 (Zhejiang), 睢宁县 (Jiangsu), 曹县 (Shandong), 清河县 and 平乡县 (Hebei): counties
# with many Taobao villages in the 2016 list; 苍溪县 (Sichuan): a poor county with none yet.
COUNTIES = ("330782", "320324", "371721", "130534", "130532", "510824")


def main(source: str, destination: str) -> None:
    keep_exact = {c[:2].ljust(12, "0") for c in COUNTIES} | {c[:4].ljust(12, "0") for c in COUNTIES}
    with (
        gzip.open(source, "rt", encoding="utf-8", newline="") as src,
        gzip.open(destination, "wt", encoding="utf-8", newline="", compresslevel=9) as dst,
    ):
        reader = csv.reader(src)
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        for row in reader:
            if row[0] in keep_exact or row[0].startswith(COUNTIES):
                writer.writerow(row)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
