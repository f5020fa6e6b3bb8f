"""Write the sample files the ingest tests read (run from the repository root to regenerate them).

Small, realistic files made by the project, shaped like what Enedis and emoncms produce: the portal's
metadata block, R63 rows with a per-row ``Pas``, Data Connect JSON with values as strings, an emoncms
backup folder with PHPFina, PHPTimeSeries and an ``emoncms.sql`` dump. DST days: 2024-03-31 (46
half-hours) and 2024-10-27 (50 half-hours) in Europe/Paris. Values follow a simple daily shape so that a
test can recompute any of them: ``value(i) = 300 + 10 * i`` W for the i-th half-hour of a file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
PRM_A = "30001234567890"  # known delivery point with a load-curve series
PRM_B = "30009876543210"  # known delivery point without series yet
PRM_X = "30005555555555"  # unknown delivery point: quarantine
PARIS = "Europe/Paris"
R63_HEADER = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
    "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire"
)
PORTAL_HEADER = (
    "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite"
)


def ends(day: str, freq: str = "30min") -> pd.DatetimeIndex:
    """END stamps of every interval of a local day (00:30 ... 24:00), DST-aware."""
    start = pd.Timestamp(day, tz=PARIS)
    stop = pd.Timestamp(pd.Timestamp(day) + pd.Timedelta(days=1), tz=PARIS)
    return pd.date_range(start, stop, freq=freq, inclusive="right")


def iso(ts: pd.Timestamp) -> str:
    return ts.isoformat()


def local(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def write(name: str, text: str, encoding: str = "utf-8", bom: bool = False) -> None:
    data = text.encode(encoding)
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def portal(day: str, prm: str = PRM_A, gaps: tuple[int, ...] = ()) -> str:
    stamps = ends(day)
    rows = [
        PORTAL_HEADER,
        f"{prm};Courbe de charge;{day};{day};Energie active;Consommation;Comptage Brut;W",
        "Horodate;Valeur",
    ]
    for i, ts in enumerate(stamps):
        rows.append(f"{iso(ts)};{'' if i in gaps else 300 + 10 * i}")
    return "\r\n".join(rows) + "\r\n"


def r63_rows(
    prm: str,
    day: str,
    *,
    with_offset: bool,
    unit: str = "W",
    physique: str = "PA",
    metier: str = "CONS",
    freq: str = "30min",
    pas: str = "PT30M",
    value=lambda i: 300 + 10 * i,
) -> list[str]:
    out = []
    for i, ts in enumerate(ends(day, freq)):
        stamp = iso(ts) if with_offset else local(ts)
        out.append(f"{prm};{day};{day};{physique};{metier};BRUT;{unit};{stamp};{value(i)};B;{pas};0;0")
    return out


def main() -> None:
    # Customer portal: UTF-8 with BOM, CRLF, ISO stamps with offsets.
    write("enedis_portal_dst_spring.csv", portal("2024-03-31"), bom=True)
    write("enedis_portal_dst_autumn.csv", portal("2024-10-27"), bom=True)
    gappy = portal("2024-06-12", gaps=(10, 11, 12)).splitlines()
    del gappy[3 + 20]  # a row missing altogether, besides the three empty values
    write("enedis_portal_gaps.csv", "\r\n".join(gappy) + "\r\n", bom=True)

    # R63, older layout: local times without offset; two PRMs (one unknown) and a production curve.
    rows = [R63_HEADER]
    rows += r63_rows(PRM_A, "2024-10-27", with_offset=False)
    rows += r63_rows(PRM_B, "2024-10-27", with_offset=False, metier="PROD", value=lambda i: 1000 + i)
    rows += r63_rows(PRM_X, "2024-10-27", with_offset=False, value=lambda i: 50 + i)
    write("enedis_r63_dst_autumn_local.csv", "\n".join(rows) + "\n")
    rows = [R63_HEADER, *r63_rows(PRM_A, "2024-03-31", with_offset=False)]
    write("enedis_r63_dst_spring_local.csv", "\n".join(rows) + "\n")

    # R63 with offsets, Windows-1252, kW with a decimal comma, and the step changing from PT10M to PT30M
    # at noon (a meter whose recording step was changed), then a day of energy (EA, Wh per 30 min).
    rows = [R63_HEADER]
    for i, ts in enumerate(ends("2024-01-15", "10min")):
        if ts.hour >= 12 and not (ts.hour == 12 and ts.minute == 0):
            break
        rows.append(
            f"{PRM_A};2024-01-15;2024-01-16;PA;CONS;BRUT;kW;{iso(ts)};{(600 + i) / 1000:.3f}".replace(".", ",")
            + ";R;PT10M;0;0"
        )
    for ts in ends("2024-01-15"):
        if ts.hour > 12 or (ts.hour == 12 and ts.minute > 0) or ts.day == 16:
            rows.append(f"{PRM_A};2024-01-15;2024-01-16;PA;CONS;BRUT;kW;{iso(ts)};1,5;R;PT30M;0;0")
    for i, ts in enumerate(ends("2024-01-16")):
        rows.append(f"{PRM_B};2024-01-16;2024-01-17;EA;CONS;BRUT;Wh;{iso(ts)};{100 + i};R;PT30M;0;0")
    write("enedis_r63_step_change.csv", "\r\n".join(rows) + "\r\n", encoding="cp1252")

    # R63 with a duplicated row (the later one wins) — the same instant sent twice with a corrected value.
    rows = [R63_HEADER, *r63_rows(PRM_A, "2024-02-01", with_offset=True)]
    rows.insert(6, rows[5].replace(";340;", ";999;"))
    rows.insert(7, rows[5].replace(";340;", ";345;"))
    write("enedis_r63_duplicates.csv", "\n".join(rows) + "\n")

    # Data Connect: a load curve over the autumn DST day (dates local, END), and a week of daily energy.
    readings = [
        {"value": str(300 + 10 * i), "date": local(ts), "interval_length": "PT30M", "measure_type": "B"}
        for i, ts in enumerate(ends("2024-10-27"))
    ]
    doc = {
        "meter_reading": {
            "usage_point_id": PRM_A,
            "start": "2024-10-27",
            "end": "2024-10-28",
            "quality": "BRUT",
            "reading_type": {"measurement_kind": "power", "unit": "W", "aggregate": "average"},
            "interval_reading": readings,
        }
    }
    (HERE / "enedis_dataconnect_load_curve.json").write_text(json.dumps(doc, indent=1) + "\n")
    days = pd.date_range("2024-10-21", "2024-10-27", freq="D")
    doc = {
        "meter_reading": {
            "usage_point_id": PRM_A,
            "start": "2024-10-21",
            "end": "2024-10-28",
            "quality": "BRUT",
            "reading_type": {"measurement_kind": "energy", "measuring_period": "P1D", "unit": "Wh", "aggregate": "sum"},
            "interval_reading": [
                {"value": str(8000 + 100 * i), "date": d.strftime("%Y-%m-%d")} for i, d in enumerate(days)
            ],
        }
    }
    (HERE / "enedis_dataconnect_daily.json").write_text(json.dumps(doc, indent=1) + "\n")

    # Plain CSV: a datalogger (comma, ISO local times) and a French spreadsheet (semicolon, decimal comma).
    t = pd.date_range("2024-05-01 00:00", periods=12, freq="5min")
    rows = ["time,house_power,outdoor_temp"]
    rows += [f"{x:%Y-%m-%dT%H:%M:%S},{1200 + 7 * i},{12.5 + i / 10:.1f}" for i, x in enumerate(t)]
    rows[5] = rows[5].split(",")[0] + ",,12.9"  # a gap in house_power
    write("csv_plain_logger.csv", "\n".join(rows) + "\n")
    t = pd.date_range("2024-05-01 01:00", periods=24, freq="h")
    rows = ["Date;Conso (kWh)"] + [f"{x:%d/%m/%Y %H:%M};{0.4 + i / 100:.2f}".replace(".", ",") for i, x in enumerate(t)]
    write("csv_plain_hourly_kwh.csv", "\r\n".join(rows) + "\r\n", encoding="cp1252")

    # emoncms backup folder.
    root = HERE / "emoncms_backup"
    (root / "phpfina").mkdir(parents=True, exist_ok=True)
    (root / "phptimeseries").mkdir(parents=True, exist_ok=True)
    start = 1714521600  # 2024-05-01T00:00:00Z
    power = np.array([250 + (i % 60) for i in range(8640)], "<f4")  # one day at 10 s
    power[100:130] = np.nan  # a gap: emonhub was down for five minutes
    (root / "phpfina" / "1.meta").write_bytes(struct.pack("<4I", 0, 0, 10, start))
    (root / "phpfina" / "1.dat").write_bytes(power.tobytes())
    kwh = np.cumsum(np.full(144, 0.05, "<f4")).astype("<f4")  # a kWh counter every 10 min
    (root / "phpfina" / "2.meta").write_bytes(struct.pack("<4I", 0, 0, 600, start))
    (root / "phpfina" / "2.dat").write_bytes(kwh.tobytes())
    rec = np.zeros(48, dtype=[("flag", "u1"), ("t", "<u4"), ("v", "<f4")])
    rec["flag"] = 0
    rec["t"] = start + 1800 * np.arange(48) + 7  # irregular-ish: 7 s after each half hour
    rec["v"] = 18.5 + np.arange(48) / 10
    (root / "phptimeseries" / "feed_3.MYD").write_bytes(rec.tobytes())
    (root / "emoncms.sql").write_text(
        "-- MySQL dump 10.19\n"
        "DROP TABLE IF EXISTS `feeds`;\n"
        "CREATE TABLE `feeds` (\n"
        "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
        "  `name` text,\n"
        "  `userid` int(11) DEFAULT NULL,\n"
        "  `tag` text,\n"
        "  `time` int(10) unsigned DEFAULT NULL,\n"
        "  `value` double DEFAULT NULL,\n"
        "  `datatype` int(11) NOT NULL,\n"
        "  `public` tinyint(1) DEFAULT '0',\n"
        "  `size` int(11) DEFAULT NULL,\n"
        "  `engine` int(11) NOT NULL DEFAULT '0',\n"
        "  `processList` text,\n"
        "  `unit` varchar(10) DEFAULT '',\n"
        "  PRIMARY KEY (`id`)\n"
        ") ENGINE=MyISAM AUTO_INCREMENT=4 DEFAULT CHARSET=utf8;\n"
        "LOCK TABLES `feeds` WRITE;\n"
        "INSERT INTO `feeds` VALUES (1,'house_power',1,'emontx',1714608000,255,1,0,34560,5,'','W'),"
        "(2,'house_kwh',1,'emontx',1714608000,7.2,1,0,576,5,NULL,'kWh'),"
        "(3,'cellar temp \\'north\\'',1,'emonth',1714606207,23.2,1,0,432,2,'','°C');\n"
        "UNLOCK TABLES;\n",
        encoding="utf-8",
    )

    # Broken inputs, one fault each.
    good = [R63_HEADER, *r63_rows(PRM_A, "2024-02-01", with_offset=True)]
    write("broken_r63_truncated.csv", "\n".join(good[:20]) + "\n" + good[20][:40])
    write("broken_r63_text_value.csv", "\n".join([*good[:9], good[9].replace(";380;", ";n/a;"), *good[10:]]) + "\n")
    write("broken_r63_unknown_unit.csv", "\n".join([*good[:4], good[4].replace(";W;", ";MJ;"), *good[5:]]) + "\n")
    write(
        "broken_r63_future.csv",
        "\n".join([good[0], *(r.replace("2024-02-01T", "2099-02-01T") for r in good[1:])]) + "\n",
    )
    write("broken_r63_wrong_separator.csv", "\n".join([good[0], *(r.replace(";", ",") for r in good[1:])]) + "\n")
    lines = portal("2024-06-12").splitlines()
    lines[2:] = [x.replace(";", ",") for x in lines[2:]]
    write("broken_portal_wrong_separator.csv", "\r\n".join(lines) + "\r\n", bom=True)


if __name__ == "__main__":
    main()
