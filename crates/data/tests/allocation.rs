//! The per-batch path — epoch order into a reused vector, batches, gather into preallocated
//! buffers, augmentation in place — allocates nothing. Counted by a global allocator, per thread, so other threads
//! of the test harness do not disturb the count.

use knit_data::{
    epoch_order, gather, gather_rows, generate, one_hot_into, Augmentation, Batches, Extent,
    FlipAxis, ImageShape, Synthetic, Transform,
};
use ndarray::{Array1, Array2};

use knit_testkit::{allocations, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn steady_state_batching_does_not_allocate() {
    let data = generate(
        &Synthetic::Blobs {
            centers: 4,
            std: 1.0,
        },
        1000,
        0.1,
        5,
        0,
    )
    .unwrap();
    let batch = 64;
    let mut x = Array2::<f32>::zeros((batch, 2));
    let mut y = Array1::zeros(batch);
    let mut targets = Array2::zeros((batch, 4));
    let mut order = Vec::with_capacity(data.len());
    let mut checksum = 0.0f32;

    let probe = allocations();
    std::hint::black_box(vec![1u8; 8]);
    assert_eq!(
        allocations(),
        probe + 1,
        "the counter sees this thread's allocations"
    );

    let before = allocations();
    for epoch in 0..3 {
        epoch_order(data.len(), true, 9, epoch, &mut order);
        for indices in Batches::new(&order, batch, false) {
            gather(&data, indices, &mut x, &mut y);
            one_hot_into(&y.slice(ndarray::s![..indices.len()]), targets.view_mut());
            checksum += x[[0, 0]] + y[0];
        }
    }
    let after = allocations();

    assert!(checksum.is_finite());
    assert_eq!(
        after - before,
        0,
        "epoch_order, Batches, gather and one_hot_into allocated"
    );
}

#[test]
fn steady_state_augmentation_does_not_allocate() {
    let image = ImageShape {
        channels: 3,
        height: 8,
        width: 8,
    };
    let data = generate(
        &Synthetic::Uniform {
            features: image.values(),
            classes: 10,
        },
        300,
        0.0,
        5,
        0,
    )
    .unwrap();
    let augmentation = Augmentation::new(
        image,
        vec![
            Transform::crop(2),
            Transform::Flip {
                axis: FlipAxis::Horizontal,
                probability: 0.5,
            },
            Transform::translate(Extent::Fraction(0.1)),
            Transform::Flip {
                axis: FlipAxis::Vertical,
                probability: 0.5,
            },
        ],
    )
    .unwrap();
    let batch = 32;
    let mut buffer = vec![0.0f32; batch * image.values()];
    let mut order = Vec::with_capacity(data.len());
    let mut checksum = 0.0f32;

    let before = allocations();
    for epoch in 0..3 {
        epoch_order(data.len(), true, 9, epoch, &mut order);
        for indices in Batches::new(&order, batch, false) {
            gather_rows(&data, indices, &mut buffer);
            augmentation.apply(9, epoch, indices, &mut buffer);
            checksum += buffer[0];
        }
    }
    let after = allocations();

    assert!(checksum.is_finite());
    assert_eq!(after - before, 0, "augmenting a batch allocated");
}
