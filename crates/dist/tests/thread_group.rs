//! The in-process group: what every member sees after each collective, and that a member
//! that stops never leaves the others blocked.

use knit_dist::{Collective, DistError, Single, ThreadGroup, ThreadMember};

/// Runs `body` on each member of a group of `size`, one thread each; the results by rank.
fn on_group<R: Send>(size: usize, body: impl Fn(ThreadMember) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(size)
            .into_iter()
            .map(|member| s.spawn(|| body(member)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn sums_are_added_in_rank_order_on_every_member() {
    // 1e8 + 1 − 1e8 is 0 in f32 from the left, 1 in another order: the order shows.
    let values = [1e8f32, 1.0, -1e8];
    let sums = on_group(3, |m| {
        let mut b = vec![values[m.rank()], -0.0];
        m.all_reduce_sum_f32(&mut b).unwrap();
        let mut d = vec![m.rank() as f64 * 0.5];
        m.all_reduce_sum_f64(&mut d).unwrap();
        (b, d)
    });
    for (b, d) in sums {
        assert_eq!(b[0], 0.0);
        assert!(
            b[1] == 0.0 && b[1].is_sign_negative(),
            "-0.0 + -0.0 stays -0.0"
        );
        assert_eq!(d, vec![1.5]);
    }
}

#[test]
fn broadcast_and_gather_move_bytes_between_members() {
    let out = on_group(3, |m| {
        let mut bytes = vec![m.rank() as u8; m.rank() + 1];
        m.broadcast_bytes(&mut bytes, 1).unwrap();
        let gathered = m.gather_bytes(&[m.rank() as u8 * 10], 2).unwrap();
        m.barrier().unwrap();
        (bytes, gathered)
    });
    for (rank, (bytes, gathered)) in out.into_iter().enumerate() {
        assert_eq!(bytes, vec![1, 1]);
        let expected = (rank == 2).then(|| vec![vec![0], vec![10], vec![20]]);
        assert_eq!(gathered, expected);
    }
}

#[test]
fn buffers_of_different_lengths_are_an_error_naming_the_rank() {
    let out = on_group(2, |m| {
        let mut b = vec![0.0f32; 2 + m.rank()];
        m.all_reduce_sum_f32(&mut b).unwrap_err().to_string()
    });
    assert_eq!(
        out[0],
        "rank 1 passed 3 values to a collective operation, rank 0 passed 2"
    );
}

#[test]
fn a_member_that_panics_ends_the_others_collectives_with_an_error() {
    let out = std::thread::scope(|s| {
        let mut members = ThreadGroup::new(2).into_iter();
        let (first, second) = (members.next().unwrap(), members.next().unwrap());
        let waiting = s.spawn(move || {
            let mut b = vec![1.0f32];
            first.all_reduce_sum_f32(&mut b).unwrap();
            first.all_reduce_sum_f32(&mut b)
        });
        let failing = s.spawn(move || {
            let mut b = vec![1.0f32];
            second.all_reduce_sum_f32(&mut b).unwrap();
            panic!("rank 1 fails between two steps");
        });
        assert!(failing.join().is_err());
        waiting.join().unwrap()
    });
    assert!(matches!(
        out,
        Err(DistError::PeerStopped { rank: 1, size: 2 })
    ));
}

#[test]
fn a_single_process_is_a_group_of_one() {
    let mut b = vec![2.5f32];
    Single.all_reduce_sum_f32(&mut b).unwrap();
    assert_eq!(b, vec![2.5]);
    assert_eq!(
        (Single.rank(), Single.size(), Single.is_root()),
        (0, 1, true)
    );
    assert_eq!(
        Single.gather_bytes(b"x", 0).unwrap(),
        Some(vec![b"x".to_vec()])
    );
    assert!(Single.broadcast_bytes(&mut Vec::new(), 1).is_err());
}
