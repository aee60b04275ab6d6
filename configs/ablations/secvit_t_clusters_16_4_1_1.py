# Ablation, paper Table 7 (number of clusters per stage): SecViT-T with half the paper's clusters
# (16, 4, 1 = global in stage 3: 196 tokens each at 224) and stage 4 global; more FLOPs than the
# default (32, 8, 2, global). See secvit_t_clusters_64_16_4_1.py.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(num_clusters=(16, 4, 1, 1)))
