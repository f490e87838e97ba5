"""Trustworthiness (10 neighbours) of the Python TSNE against scikit-learn's at
the same settings, as bindings/python/tests/test_tsne.py checks it, with the
figures printed. Run from the project root:
  EMBEDVIZ_LIBRARY=build/libembedviz.so.1 /usr/bin/python3 bench/python_trustworthiness.py"""
import sys, gzip, numpy as np, time
sys.path.insert(0, __import__('os').path.join(__import__('os').path.dirname(__file__), '..', 'bindings', 'python'))
from embedviz import TSNE, PCA
from sklearn.manifold import TSNE as Sk, trustworthiness
from sklearn.datasets import load_digits
x=load_digits().data.astype(np.float32)
t=time.time(); a=TSNE(random_state=0).fit(x).embedding_; ta=time.time()-t
t=time.time(); b=Sk(random_state=0,init='pca',learning_rate='auto').fit_transform(x); tb=time.time()-t
print('digits', 'ours %.4f (%.1fs)'%(trustworthiness(x,a,n_neighbors=10),ta), 'sklearn %.4f (%.1fs)'%(trustworthiness(x,b,n_neighbors=10),tb))
with gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') as f:
    fm=np.frombuffer(f.read(),np.uint8,offset=16).reshape(-1,784).astype(np.float32)/255
x=PCA(50,random_state=0).fit_transform(fm[:1500])
a=TSNE(random_state=0).fit_transform(x); b=Sk(random_state=0,init='pca',learning_rate='auto').fit_transform(x)
print('fmnist1500', 'ours %.4f'%trustworthiness(x,a,n_neighbors=10), 'sklearn %.4f'%trustworthiness(x,b,n_neighbors=10))
