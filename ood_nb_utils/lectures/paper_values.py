"""Numbers transcribed from the four papers, in one place: each chapter compares its measurements with them.

Every constant names the table it comes from. Values are in % as printed (FPR@95 under the paper's own
convention: ID-positive for NAP and HIMPLoS, OOD-positive for AdaSCALE). Checked against the paper texts
in ``shared/papers/`` when they were typed in; nothing here is computed.
"""

# --- NAP (Wan et al., 2024; ID-positive FPR@95) -------------------------------------------------------------
# Table 8: the weight w of Eq. 4 per model and NAP-X
NAP_TABLE8_W = {
    "cifar10": {"nap_a": 0.5, "nap_d": 0.5, "nap_e": 0.4, "nap_k": 0.8, "nap_m": 0.5, "nap_r": 0.4},
    "cifar100": {"nap_a": 0.6, "nap_d": 0.6, "nap_e": 0.4, "nap_k": 0.8, "nap_m": 0.3, "nap_r": 0.5},
}
# Table 4: NAP at layers (c1, t1, t2, p) and their products -> CIFAR-10 FPR, AUROC, CIFAR-100 FPR, AUROC
NAP_TABLE4 = {
    ("c1",): (83.22, 51.99, 84.13, 50.34),
    ("t1",): (69.10, 50.47, 86.82, 54.92),
    ("t2",): (56.53, 78.44, 88.85, 53.08),
    ("c1", "t1", "t2", "p"): (68.33, 58.99, 82.66, 56.96),
    ("t1", "t2", "p"): (56.84, 64.26, 83.35, 57.97),
    ("t2", "p"): (34.41, 87.81, 82.74, 58.31),
    ("p",): (26.57, 92.45, 54.91, 85.86),
}  # CIFAR-10 FPR, AUROC, CIFAR-100 FPR, AUROC
NAP_TABLES67_LSUN_CROP = {  # Tables 6 and 7, LSUN-Crop column: FPR@95, AUROC (evidence for the suspect cells)
    "cifar10": {
        "ash_s": (0.90, 99.73), "nap_a": (0.80, 99.80), "dice": (45.87, 86.97), "nap_d": (13.85, 96.98),
        "energy": (3.81, 99.15), "nap_e": (0.99, 99.76), "knn": (19.31, 96.46), "nap_k": (3.58, 99.34),
        "msp": (64.52, 88.14), "nap_m": (16.42, 96.23), "react": (5.96, 98.84), "nap_r": (3.04, 99.33),
    },
    "cifar100": {
        "ash_s": (5.52, 98.84), "nap_a": (5.25, 98.94), "dice": (61.42, 77.12), "nap_d": (24.59, 92.04),
        "energy": (14.72, 97.43), "nap_e": (2.60, 99.38), "knn": (26.01, 93.53), "nap_k": (9.84, 98.04),
        "msp": (84.79, 71.48), "nap_m": (27.85, 93.93), "react": (25.55, 94.92), "nap_r": (5.73, 98.76),
    },
}
NAP_TABLES67_TEXTURES = {  # Tables 6 and 7, Textures column: FPR@95, AUROC
    "cifar10": {
        "ash_s": (24.34, 95.09),
        "nap_a": (10.51, 97.90),
        "dice": (0.38, 99.90),
        "nap_d": (0.41, 99.88),
        "energy": (56.29, 86.42),
        "nap_e": (11.65, 97.72),
        "knn": (7.71, 98.62),
        "nap_k": (2.29, 99.55),
        "msp": (33.66, 95.54),
        "nap_m": (7.33, 98.35),
        "react": (43.58, 92.47),
        "nap_r": (8.10, 98.17),
    },
    "cifar100": {
        "ash_s": (34.02, 92.35),
        "nap_a": (22.70, 94.99),
        "dice": (0.91, 99.74),
        "nap_d": (1.22, 99.68),
        "energy": (84.15, 71.03),
        "nap_e": (21.72, 95.47),
        "knn": (28.06, 92.69),
        "nap_k": (12.24, 97.76),
        "msp": (60.49, 85.60),
        "nap_m": (15.29, 96.94),
        "react": (77.78, 78.95),
        "nap_r": (17.22, 96.16),
    },
}
# Table 9 (CIFAR-10 vs CIFAR-100): (FPR@95, AUROC)
NAP_TABLE9 = {
    "energy": (50.74, 89.76),
    "nap_e": (44.38, 90.69),
    "react": (48.77, 90.55),
    "nap_r": (42.94, 90.66),
    "ash_s": (48.74, 89.93),
    "nap_a": (44.92, 90.07),
}

# --- AdaSCALE (Regmi, 2025; OOD-positive FPR@95; OpenOOD DenseNet-101, mean of 3 runs) ---------------------
ADASCALE_TABLE16_FAR = {  # Table 16 (DenseNet-101): MNIST, Textures as FPR@95 (OOD-pos.), AUROC
    "cifar10": {
        "msp": [(17.91, 94.22), (46.80, 87.53)],
        "mls": [(10.02, 97.58), (64.43, 85.58)],
        "energy": [(9.74, 97.76), (64.46, 85.48)],
        "react": [(12.60, 97.24), (50.41, 88.21)],
        "ash_s": [(9.40, 98.12), (70.95, 85.39)],
        "scale": [(9.04, 97.88), (61.52, 86.77)],
        "bfact": [(23.59, 94.96), (53.74, 87.38)],
        "lts": [(8.92, 97.97), (59.07, 87.09)],
        "adascale_a": [(12.42, 96.85), (58.28, 87.35)],
        "adascale_l": [(10.92, 97.44), (58.59, 87.19)],
    },
    "cifar100": {
        "msp": [(65.65, 72.43), (75.34, 72.19)],
        "mls": [(58.69, 78.55), (79.05, 72.68)],
        "energy": [(58.58, 78.98), (79.09, 72.44)],
        "react": [(62.71, 76.37), (64.65, 78.62)],
        "ash_s": [(40.69, 88.57), (65.24, 83.29)],
        "scale": [(56.92, 79.53), (76.10, 74.47)],
        "bfact": [(73.83, 67.19), (69.29, 76.41)],
        "lts": [(55.33, 80.58), (73.06, 75.89)],
        "adascale_a": [(62.51, 74.96), (71.40, 76.59)],
        "adascale_l": [(61.33, 75.73), (69.31, 77.71)],
    },
}
ADASCALE_TABLE17_NEAR = {  # Table 17 (DenseNet-101): other CIFAR, TIN
    "cifar10": {
        "msp": [(40.13, 88.45), (35.50, 89.61)],
        "mls": [(45.14, 88.85), (38.01, 90.85)],
        "energy": [(45.19, 88.85), (38.05, 90.90)],
        "react": [(44.34, 89.19), (37.10, 91.08)],
        "ash_s": [(67.78, 82.68), (62.54, 85.18)],
        "scale": [(45.25, 88.92), (37.76, 91.01)],
        "bfact": [(52.06, 87.70), (44.09, 89.89)],
        "lts": [(44.89, 89.03), (37.67, 91.10)],
        "adascale_a": [(43.29, 89.37), (35.57, 91.32)],
        "adascale_l": [(43.19, 89.40), (35.70, 91.37)],
    },
    "cifar100": {
        "msp": [(59.94, 77.53), (56.96, 79.57)],
        "mls": [(63.61, 78.26), (57.09, 81.75)],
        "energy": [(63.90, 77.94), (57.53, 81.58)],
        "react": [(70.77, 75.06), (61.30, 80.40)],
        "ash_s": [(81.65, 65.84), (78.66, 70.01)],
        "scale": [(64.20, 78.13), (56.96, 81.88)],
        "bfact": [(79.31, 67.39), (71.79, 74.18)],
        "lts": [(64.66, 77.87), (56.83, 81.87)],
        "adascale_a": [(65.51, 78.00), (54.49, 82.44)],
        "adascale_l": [(66.09, 77.79), (54.57, 82.47)],
    },
}
ADASCALE_FAR_SETS = ("mnist", "textures")  # the Table 16 columns above, in order
ADASCALE_NEAR_SETS = {"cifar10": ("cifar100", "tin"), "cifar100": ("cifar10", "tin")}  # Table 17 columns

# --- HIMPLoS (Sun et al., 2023; ID-positive FPR@95; DenseNet-BC-100) ----------------------------------------
HIMPLOS_TABLE1_TEXTURES = {  # Table I, DenseNet, Textures column: FPR@95 (ID-positive), AUROC
    "cifar10": {
        "msp": (63.48, 87.94),
        "odin": (57.85, 81.18),
        "mahalanobis": (30.41, 89.53),
        "energy": (59.20, 85.75),
        "dice": (46.35, 87.33),
        "react": (51.52, 90.19),
        "dice_react": (28.30, 94.30),
        "himplos": (25.18, 95.53),
    },
    "cifar100": {
        "msp": (85.14, 71.21),
        "odin": (81.72, 72.21),
        "mahalanobis": (34.10, 89.52),
        "energy": (85.16, 70.98),
        "dice": (61.24, 77.22),
        "react": (78.33, 79.08),
        "dice_react": (41.29, 86.11),
        "himplos": (25.05, 93.90),
    },
}
# Table I, ResNet-18 rows (the paper's own networks), Textures column: FPR@95 (ID-positive), AUROC. Shown beside our
# ResNet-56 for context only (a different network): the MSP, ODIN and Mahalanobis rows of the CIFAR-10 block are
# garbled in the text we have and are left out.
HIMPLOS_TABLE1_RESNET18_TEXTURES = {
    "cifar10": {"energy": (48.62, 89.72), "dice": (52.22, 88.56), "react": (45.25, 91.36),
                "dice_react": (48.37, 90.43), "himplos": (39.04, 92.79)},
    "cifar100": {"energy": (84.66, 75.14), "dice": (74.59, 76.54), "react": (51.21, 89.18),
                 "dice_react": (45.64, 88.81), "himplos": (31.91, 93.27)},
}
# Table III (CIFAR-100, mean of 6 sets): (ReAct, FM, LS) switched on/off -> (FPR@95, AUROC)
HIMPLOS_TABLE3 = {
    (0, 0, 0): (68.54, 81.18),
    (1, 0, 0): (65.37, 84.13),
    (1, 1, 0): (36.74, 90.01),
    (1, 0, 1): (48.42, 88.77),
    (0, 1, 1): (40.34, 89.89),
    (1, 1, 1): (30.06, 92.23),
}
# Table IV (mean of 6 sets): per base, [plain, +ReAct, +HIMPLoS] as (FPR@95, AUROC)
HIMPLOS_TABLE4 = {
    "cifar10": {
        "MSP": [(50.04, 92.05), (50.07, 92.32), (18.99, 96.62)],
        "Energy": [(28.28, 94.31), (23.47, 95.95), (14.62, 97.18)],
        "ODIN": [(22.14, 94.17), (22.08, 95.63), (14.60, 97.10)],
    },
    "cifar100": {
        "MSP": [(80.20, 74.35), (80.19, 74.71), (43.49, 89.25)],
        "Energy": [(68.54, 81.18), (65.37, 84.13), (30.06, 92.23)],
        "ODIN": [(56.23, 85.38), (49.18, 88.85), (28.42, 92.15)],
    },
}
# Table V (CIFAR-100, mean of 6 sets): logit enhancing alpha (or smoothing) -> (FPR@95, AUROC)
HIMPLOS_TABLE5 = {
    1: (35.77, 90.28),
    5: (33.93, 90.89),
    10: (32.05, 91.43),
    20: (30.64, 92.13),
    50: (31.61, 92.01),
    100: (34.59, 91.68),
    "smoothing": (30.06, 92.23),
}
