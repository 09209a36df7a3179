# Makes the op-level test graphs and their onnxruntime outputs (ops.io.safetensors).
# Run here with onnx 1.23 and onnxruntime 1.32 (pip); the tests only read what it wrote.
import onnx, numpy as np, onnxruntime as ort, json, struct
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(42)
cases = {}
def add(name, nodes, a_shape, inits=(), opset=18, a=None, positive=False):
    if a is None:
        a = rng.normal(size=a_shape).astype(np.float32)
        if positive: a = np.abs(a) + 0.1
    g = h.make_graph(nodes, name, [h.make_tensor_value_info('a', T.FLOAT, list(a_shape))],
                     [h.make_tensor_value_info('y', T.FLOAT, None)], initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)]); m.ir_version = 10
    pass
    onnx.save(m, f'{name}.onnx')
    y = ort.InferenceSession(f'{name}.onnx').run(None, {'a': a})[0].astype(np.float32)
    cases[name] = (a, y)
f = lambda arr, n: nh.from_array(np.asarray(arr), n)
w = lambda shape, n: nh.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), n)
N = h.make_node
add('unary', [N('Sqrt', ['a'], ['s']), N('Log', ['s'], ['l']), N('Exp', ['l'], ['e']), N('Erf', ['e'], ['r']),
              N('Tanh', ['r'], ['t']), N('Neg', ['t'], ['n']), N('Abs', ['n'], ['b']), N('Reciprocal', ['b'], ['c']),
              N('Relu', ['c'], ['y'])], (2, 3, 4), positive=True)
add('gelu-erf-and-tanh', [N('Gelu', ['a'], ['g1']), N('Gelu', ['a'], ['g2'], approximate='tanh'), N('Sub', ['g1', 'g2'], ['d']),
                          N('Add', ['g1', 'd'], ['y'])], (3, 5), opset=20)
add('where-equal-range', [N('Shape', ['a'], ['sh']), N('Gather', ['sh', 'one'], ['w'], axis=0),
                          N('Range', ['zero', 'w', 'step'], ['r']), N('Cast', ['r'], ['rf'], to=1),
                          N('Equal', ['r', 'two'], ['m']), N('Where', ['m', 'a', 'rf'], ['y'])], (2, 5),
    [f(np.array(1, np.int64), 'one'), f(np.array(0, np.int64), 'zero'), f(np.array(1, np.int64), 'step'),
     f(np.array(2, np.int64), 'two')])
add('constantofshape-expand', [N('ConstantOfShape', ['shp'], ['c'], value=nh.from_array(np.array([0.5], np.float32))),
                               N('Expand', ['a', 'shp'], ['e']), N('Mul', ['e', 'c'], ['y'])], (1, 4),
    [f(np.array([3, 4], np.int64), 'shp')])
add('reduce', [N('ReduceSum', ['a', 'axes'], ['s'], keepdims=1), N('ReduceMax', ['a', 'ax2'], ['m'], keepdims=1),
               N('ReduceMean', ['a', 'ax2'], ['mu'], keepdims=1), N('Add', ['s', 'm'], ['sm']), N('Add', ['sm', 'mu'], ['y'])],
    (2, 3, 4), [f(np.array([1], np.int64), 'axes'), f(np.array([0, 2], np.int64), 'ax2')])
add('maxpool-pads-strides', [N('MaxPool', ['a'], ['y'], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], (2, 3, 7, 6))
add('avgpool-exclude-pad', [N('AveragePool', ['a'], ['y'], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                              count_include_pad=0)], (1, 2, 7, 7))
add('avgpool-include-pad', [N('AveragePool', ['a'], ['y'], kernel_shape=[2, 3], strides=[1, 2], pads=[0, 1, 1, 0],
                              count_include_pad=1)], (1, 2, 5, 6))
add('convtranspose', [N('ConvTranspose', ['a', 'W', 'B'], ['y'], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])],
    (2, 3, 4, 5), [w((3, 2, 3, 3), 'W'), w((2,), 'B')])
add('conv-dilated-grouped-asymmetric', [N('Conv', ['a', 'W', 'B'], ['y'], dilations=[2, 2], group=2, pads=[1, 0, 2, 1])],
    (2, 4, 7, 6), [w((6, 2, 3, 3), 'W'), w((6,), 'B')])
add('conv1d', [N('Conv', ['a', 'W'], ['y'], pads=[1, 1], strides=[1])], (2, 3, 8), [w((4, 3, 3), 'W')])
add('groupnorm-18', [N('GroupNormalization', ['a', 's', 'b'], ['y'], num_groups=2, epsilon=1e-5)], (2, 4, 3, 3),
    [w((2,), 's'), w((2,), 'b')], opset=18)
add('groupnorm-21', [N('GroupNormalization', ['a', 's', 'b'], ['y'], num_groups=2, epsilon=1e-5)], (2, 4, 3, 3),
    [w((4,), 's'), w((4,), 'b')], opset=21)
add('layernorm-two-axes', [N('LayerNormalization', ['a', 's', 'b'], ['y'], axis=-2, epsilon=1e-5)], (2, 3, 4, 5),
    [w((4, 5), 's'), w((4, 5), 'b')])
add('softmax-axis1', [N('Softmax', ['a'], ['y'], axis=1)], (2, 5, 3))
add('resize-half-pixel', [N('Resize', ['a', '', 'sc'], ['y'], mode='nearest')], (1, 2, 4, 6),
    [f(np.array([1, 1, 1.5, 0.5], np.float32), 'sc')])
add('resize-sizes-align', [N('Resize', ['a', '', '', 'sz'], ['y'], mode='nearest', coordinate_transformation_mode='align_corners',
                             nearest_mode='round_prefer_ceil')], (1, 1, 3, 4), [f(np.array([1, 1, 7, 5], np.int64), 'sz')])
add('slice-steps', [N('Slice', ['a', 'st', 'en', 'ax', 'sp'], ['y'])], (4, 6, 5),
    [f(np.array([-1, 1], np.int64), 'st'), f(np.array([-100, 6], np.int64), 'en'), f(np.array([0, 1], np.int64), 'ax'),
     f(np.array([-2, 2], np.int64), 'sp')])
add('split-uneven-concat', [N('Split', ['a'], ['p', 'q', 'r'], axis=1, num_outputs=3), N('Concat', ['r', 'p', 'q'], ['y'], axis=1)],
    (2, 7), opset=18)
add('einsum', [N('Einsum', ['a', 'Bm'], ['e'], equation='bij,jk->bik'), N('Einsum', ['e'], ['y'], equation='bik->kib')],
    (2, 3, 4), [w((4, 5), 'Bm')])
add('matmul-broadcast', [N('MatMul', ['a', 'Bm'], ['y'])], (2, 1, 3, 4), [w((5, 4, 2), 'Bm')])
add('matmul-vector', [N('MatMul', ['a', 'v'], ['y'])], (3, 4), [w((4,), 'v')])
add('gemm-trans-alpha-beta', [N('Gemm', ['a', 'Bm', 'C'], ['y'], transA=1, alpha=0.5, beta=2.0)], (4, 3),
    [w((4, 5), 'Bm'), w((1, 5), 'C')])
add('pow-flatten-transpose', [N('Pow', ['a', 'three'], ['p']), N('Flatten', ['p'], ['f'], axis=2), N('Transpose', ['f'], ['y'], perm=[1, 0])],
    (2, 3, 2), [f(np.array(3.0, np.float32), 'three')])
add('gathernd-unsqueeze-squeeze', [N('GatherND', ['a', 'idx'], ['g']), N('Unsqueeze', ['g', 'ax'], ['u']),
                                   N('Squeeze', ['u', 'ax'], ['y'])], (3, 4, 2),
    [f(np.array([[2, 1], [0, 3], [1, 1]], np.int64), 'idx'), f(np.array([0], np.int64), 'ax')])
add('cast-int-roundtrip', [N('Mul', ['a', 'ten'], ['m']), N('Cast', ['m'], ['i'], to=7), N('Cast', ['i'], ['y'], to=1)], (3, 4),
    [f(np.array(10.0, np.float32), 'ten')])

add('clip-leakyrelu-softplus', [N('Clip', ['a', 'lo', 'hi'], ['c']), N('LeakyRelu', ['c'], ['l'], alpha=0.2),
                                N('Softplus', ['l'], ['y'])], (3, 6),
    [f(np.array(-0.7, np.float32), 'lo'), f(np.array(0.9, np.float32), 'hi')])
add('max-min', [N('Max', ['a', 'Bm'], ['m']), N('Min', ['m', 'Cm', 'a'], ['y'])], (2, 3, 4),
    [w((3, 1), 'Bm'), w((4,), 'Cm')])
add('less-greater-not-where', [N('Less', ['a', 'z'], ['lt']), N('Greater', ['a', 'hh'], ['gt']), N('Not', ['lt'], ['nl']),
                               N('Or', ['gt', 'lt'], ['o']), N('And', ['nl', 'o'], ['m']), N('Where', ['m', 'a', 'z'], ['y'])],
    (4, 5), [f(np.array(0.0, np.float32), 'z'), f(np.array(0.5, np.float32), 'hh')])
add('pad-constant', [N('Pad', ['a', 'p', 'cv'], ['y'], mode='constant')], (1, 2, 3, 4),
    [f(np.array([0, 0, 1, 2, 0, 0, 2, -1], np.int64), 'p'), f(np.array(0.25, np.float32), 'cv')])
add('pad-reflect', [N('Pad', ['a', 'p'], ['y'], mode='reflect')], (1, 2, 4, 5), [f(np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64), 'p')])
add('pad-edge-axes', [N('Pad', ['a', 'p', '', 'ax'], ['y'], mode='edge')], (2, 3, 4), [f(np.array([1, 2, 0, 1], np.int64), 'p'), f(np.array([1, 2], np.int64), 'ax')])
add('tile', [N('Tile', ['a', 'r'], ['y'])], (2, 3), [f(np.array([2, 3], np.int64), 'r')])
# io file
def save(p, d):
    hdr = {}; off = 0; blobs = []
    for k, v in d.items():
        b = v.tobytes(); hdr[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}; off += len(b); blobs.append(b)
    hj = json.dumps(hdr).encode(); open(p, 'wb').write(struct.pack('<Q', len(hj)) + hj + b''.join(blobs))
d = {}
for k, (a, y) in cases.items(): d[k + '.a'] = a; d[k + '.y'] = y
save('ops.io.safetensors', d)
print(len(cases), 'cases')
