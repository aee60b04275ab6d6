# Ablation, paper Table 7 (number of clusters per stage): SecViT-T with four times the paper's
# clusters (128, 32, 8: about 25 tokens each at 224) and 2 clusters in stage 4 (49 tokens: chunks of
# 25, the last padded and masked). Default: (32, 8, 2, global). See secvit_t_clusters_64_16_4_1.py.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(num_clusters=(128, 32, 8, 2)))
