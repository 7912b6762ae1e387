//! Tests of SessionQueue, CommitReveal and ConsensusEngine wired together and to the real CorToken, NodePool, SessionPaymentTable,
//! SessionPayment, StakeQuota, NodeReputation and NodeReward on the native test chain:
//! every entry point and error, whole task lifecycles for each consensus method (timeouts,
//! non-reveal, a dishonest minority, unresolved tasks, quota-backed tasks), and property
//! tests of invariants 1, 2 and 3 of `PROTOCOL.md` over random operation sequences.

#![allow(clippy::result_large_err)] // the callees' error enums, compared whole

use alloy_primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{SolError, SolValue};
use commit_reveal::{
    AlreadyCommitted, AlreadyRevealed, CommitReveal, CommitmentMismatch, Committed, NotAssigned,
    NotCommitted, NotReady, OutsideWindow, Revealed, TaskClosed, TaskFinalized,
    UriTooLong as OutputUriTooLong, SEAT_COMMITTED, SEAT_REVEALED, TASK_OPEN, TASK_RESOLVED,
    TASK_UNRESOLVED,
};
use consensus_engine::{ConsensusEngine, SLASH_NO_REVEAL};
use cor_consensus::{commitment, fingerprint};
use cor_contract_common::task_meta::TaskMeta;
use cor_testkit::TestChain;
use cor_token::CorToken;
use node_pool::NodePool;
use node_reputation::NodeReputation;
use node_reward::NodeReward;
use proptest::prelude::*;
use session_payment::SessionPayment;
use session_payment_table::SessionPaymentTable;
use stake_quota::StakeQuota;

use super::*;

const TOKEN: Address = address!("00000000000000000000000000000000000c0401");
const POOL_ADDR: Address = address!("00000000000000000000000000000000000c0402");
const TABLE_ADDR: Address = address!("00000000000000000000000000000000000c0403");
const PAYMENT_ADDR: Address = address!("00000000000000000000000000000000000c0404");
const QUOTA_ADDR: Address = address!("00000000000000000000000000000000000c0405");
const REP_ADDR: Address = address!("00000000000000000000000000000000000c0406");
const REWARD_ADDR: Address = address!("00000000000000000000000000000000000c0407");
const QUEUE: Address = address!("00000000000000000000000000000000000c0408");
const ROUND: Address = address!("00000000000000000000000000000000000c0409");
const ENGINE: Address = address!("00000000000000000000000000000000000c040a");
const OWNER: Address = address!("000000000000000000000000000000000000a001");
const TREASURY: Address = address!("000000000000000000000000000000000000a002");
const ALICE: Address = address!("000000000000000000000000000000000000a11c");
const BOB: Address = address!("000000000000000000000000000000000000b0b0");
const OUTSIDER: Address = address!("000000000000000000000000000000000000dead");

const GENESIS: u64 = 1_700_000_000;
const EPOCH: u64 = 3_600;
const DELAY: u64 = 3_600;
const MODEL: u32 = 1;
const WINDOW: u64 = 60;
/// Whole COR each miner stakes (NodePool's minimum here).
const MIN_STAKE: u64 = 1_000;

fn u(v: u64) -> U256 {
    U256::from(v)
}

fn cor(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000_000_000_000u64)
}

fn miner(i: u8) -> Address {
    Address::with_last_byte(0x10 + i)
}

/// The ABI revert data of one of SessionQueue's own errors.
fn err(e: impl Into<Error>) -> Vec<u8> {
    e.into().into()
}

/// The ABI revert data of one of CommitReveal's own errors.
fn cr_err(e: impl Into<commit_reveal::Error>) -> Vec<u8> {
    e.into().into()
}

/// An answer a miner reveals.
#[derive(Clone, Debug)]
struct Answer {
    output_hash: B256,
    fingerprint: B256,
    score: u64,
    uri: String,
    salt: B256,
}

fn answer(text: &str) -> Answer {
    scored(text, 0)
}

fn scored(text: &str, score: u64) -> Answer {
    Answer {
        output_hash: keccak256(text.as_bytes()),
        fingerprint: fingerprint(text),
        score,
        uri: format!("http://miner/outputs/{}", keccak256(text.as_bytes())),
        salt: keccak256(format!("salt {text} {score}").as_bytes()),
    }
}

/// Session settings, with defaults for an N = 3 Exact escrow session.
#[derive(Clone, Copy, Debug)]
struct Shape {
    n: u8,
    consensus: u8,
    threshold_bps: u16,
    tolerance: u64,
    tier: u8,
    mode: u8,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            n: 3,
            consensus: 0,
            threshold_bps: 6_000,
            tolerance: 0,
            tier: 0,
            mode: MODE_ESCROW,
        }
    }
}

struct Env {
    chain: TestChain,
    token: CorToken,
    pool: NodePool,
    table: SessionPaymentTable,
    pay: SessionPayment,
    quota: StakeQuota,
    rep: NodeReputation,
    reward: NodeReward,
    q: SessionQueue,
    cr: CommitReveal,
    miners: Vec<Address>,
}

impl Env {
    fn create(&mut self, shape: Shape) -> Result<u64, Vec<u8>> {
        self.chain.set_sender(ALICE);
        let q = &mut self.q;
        self.chain.tx(|| {
            q.create_session(
                MODEL,
                shape.n,
                shape.consensus,
                shape.threshold_bps,
                shape.tolerance,
                shape.tier,
                0,
                0,
                shape.mode,
                7,
                WINDOW,
                WINDOW,
            )
        })
    }

    fn submit_as(&mut self, who: Address, session: u64, input: &str) -> Result<U256, Vec<u8>> {
        self.chain.set_sender(who);
        let q = &mut self.q;
        let uri = format!("data:,{input}");
        self.chain.tx(|| {
            q.submit_task(
                session,
                keccak256(input.as_bytes()),
                uri,
                256,
                B256::with_last_byte(1),
            )
        })
    }

    fn submit(&mut self, session: u64) -> U256 {
        self.submit_as(ALICE, session, "What is the capital of France?")
            .expect("submit succeeds")
    }

    fn seats(&self, task: U256) -> Vec<Address> {
        let n = self.cr.task(task).unwrap().1;
        (0..n).map(|i| self.cr.seat(task, i).unwrap().0).collect()
    }

    fn commit(&mut self, task: U256, who: Address, a: &Answer) -> Result<(), Vec<u8>> {
        let c = commitment(task, who, a.output_hash, a.fingerprint, a.score, a.salt);
        self.commit_raw(task, who, c)
    }

    fn commit_raw(&mut self, task: U256, who: Address, c: B256) -> Result<(), Vec<u8>> {
        self.chain.set_sender(who);
        let cr = &mut self.cr;
        self.chain.tx(|| cr.commit(task, c))
    }

    fn reveal(&mut self, task: U256, who: Address, a: &Answer) -> Result<(), Vec<u8>> {
        self.chain.set_sender(who);
        let cr = &mut self.cr;
        let a = a.clone();
        let uri: Bytes = a.uri.into_bytes().into();
        self.chain
            .tx(|| cr.reveal(task, a.output_hash, a.fingerprint, a.score, uri, a.salt))
    }

    fn finalize(&mut self, task: U256) -> Result<u8, Vec<u8>> {
        self.chain.set_sender(OUTSIDER);
        let cr = &mut self.cr;
        self.chain.tx(|| cr.finalize(task))
    }

    /// Every seat commits then reveals its answer; `None` skips the seat entirely,
    /// `Some((a, false))` commits without revealing.
    fn play(&mut self, task: U256, answers: &[Option<(Answer, bool)>]) {
        let seats = self.seats(task);
        for (who, a) in seats.iter().zip(answers) {
            if let Some((a, _)) = a {
                self.commit(task, *who, a).unwrap();
            }
        }
        if answers.iter().any(Option::is_none) {
            self.chain.advance(WINDOW + 1);
        }
        for (who, a) in seats.iter().zip(answers) {
            if let Some((a, true)) = a {
                self.reveal(task, *who, a).unwrap();
            }
        }
    }

    /// The token balance of every contract that holds COR equals what it owes.
    fn assert_conserved(&self) {
        for (address, owed) in [
            (POOL_ADDR, self.pool.total_owed()),
            (PAYMENT_ADDR, self.pay.total_owed()),
            (QUOTA_ADDR, self.quota.total_owed()),
            (REWARD_ADDR, self.reward.total_owed()),
        ] {
            assert_eq!(self.token.balance_of(address), owed, "{address}");
        }
        for holds_nothing in [QUEUE, ROUND, ENGINE] {
            assert_eq!(self.token.balance_of(holds_nothing), U256::ZERO);
        }
    }
}

/// Everything deployed and wired; five miners registered for MODEL (Light); ALICE holds
/// 1 000 COR in escrow; BOB holds COR and approved StakeQuota; logs cleared.
fn setup() -> Env {
    setup_miners(5)
}

fn setup_miners(count: u8) -> Env {
    let chain = TestChain::new();
    assert_eq!(chain.timestamp(), GENESIS);
    chain.set_sender(OWNER);
    let deploy = |address, args: Vec<u8>, ok: Result<(), Vec<u8>>| {
        ok.unwrap_or_else(|e| panic!("constructor at {address} failed: {e:?} {args:?}"));
    };
    deploy(
        TOKEN,
        vec![],
        chain.deploy::<CorToken>(TOKEN, &(U256::MAX, OWNER).abi_encode_params()),
    );
    let pool_args =
        (TOKEN, OWNER, cor(MIN_STAKE), 600u64, GENESIS, EPOCH, DELAY).abi_encode_params();
    deploy(
        POOL_ADDR,
        pool_args.clone(),
        chain.deploy::<NodePool>(POOL_ADDR, &pool_args),
    );
    deploy(
        TABLE_ADDR,
        vec![],
        chain.deploy::<SessionPaymentTable>(TABLE_ADDR, &(OWNER, DELAY).abi_encode_params()),
    );
    deploy(
        PAYMENT_ADDR,
        vec![],
        chain.deploy::<SessionPayment>(PAYMENT_ADDR, &(TOKEN, OWNER, TREASURY).abi_encode_params()),
    );
    deploy(
        QUOTA_ADDR,
        vec![],
        chain.deploy::<StakeQuota>(
            QUOTA_ADDR,
            &(TOKEN, OWNER, PAYMENT_ADDR, GENESIS, 86_400u64, DELAY).abi_encode_params(),
        ),
    );
    deploy(
        REP_ADDR,
        vec![],
        chain.deploy::<NodeReputation>(REP_ADDR, &(OWNER,).abi_encode_params()),
    );
    deploy(
        REWARD_ADDR,
        vec![],
        chain.deploy::<NodeReward>(
            REWARD_ADDR,
            &(OWNER, TOKEN, POOL_ADDR, REP_ADDR, GENESIS, EPOCH, DELAY).abi_encode_params(),
        ),
    );
    deploy(
        ENGINE,
        vec![],
        chain.deploy::<ConsensusEngine>(
            ENGINE,
            &(OWNER, POOL_ADDR, REP_ADDR, REWARD_ADDR, cor(10)).abi_encode_params(),
        ),
    );
    deploy(
        ROUND,
        vec![],
        chain.deploy::<CommitReveal>(
            ROUND,
            &(OWNER, PAYMENT_ADDR, ENGINE, 2_048u32).abi_encode_params(),
        ),
    );
    deploy(
        QUEUE,
        vec![],
        chain.deploy::<SessionQueue>(QUEUE, &queue_args(86_400, 2_048)),
    );
    let mut token = chain.at::<CorToken>(TOKEN);
    let mut pool = chain.at::<NodePool>(POOL_ADDR);
    let mut pay = chain.at::<SessionPayment>(PAYMENT_ADDR);
    let mut quota = chain.at::<StakeQuota>(QUOTA_ADDR);
    let mut rep = chain.at::<NodeReputation>(REP_ADDR);
    let mut reward = chain.at::<NodeReward>(REWARD_ADDR);
    // Each contract's SessionQueue role goes to the program of the trio that calls it.
    pool.set_session_queue(ENGINE).unwrap();
    pool.set_reward_pool(REWARD_ADDR).unwrap();
    pool.set_model(MODEL, 0, keccak256("gemma-3-270m"), true)
        .unwrap();
    pay.set_session_queue(ROUND).unwrap();
    quota.set_session_queue(QUEUE).unwrap();
    rep.set_session_queue(ENGINE).unwrap();
    reward.set_session_queue(ENGINE).unwrap();
    chain
        .at::<ConsensusEngine>(ENGINE)
        .set_commit_reveal(ROUND)
        .unwrap();
    chain
        .at::<CommitReveal>(ROUND)
        .set_session_queue(QUEUE)
        .unwrap();
    token.mint(OWNER, cor(1_000_000)).unwrap();
    token.approve(REWARD_ADDR, U256::MAX).unwrap();
    reward.fund(cor(10_000)).unwrap();

    let mut miners = Vec::new();
    for i in 0..count {
        let m = miner(i);
        chain.set_sender(OWNER);
        token.mint(m, cor(MIN_STAKE)).unwrap();
        chain.set_sender(m);
        token.approve(POOL_ADDR, U256::MAX).unwrap();
        pool.register(vec![MODEL], B256::with_last_byte(i)).unwrap();
        miners.push(m);
    }
    for user in [ALICE, BOB] {
        chain.set_sender(OWNER);
        token.mint(user, cor(100_000)).unwrap();
        chain.set_sender(user);
        token.approve(PAYMENT_ADDR, U256::MAX).unwrap();
        token.approve(QUOTA_ADDR, U256::MAX).unwrap();
    }
    chain.set_sender(ALICE);
    pay.deposit(cor(1_000)).unwrap();
    chain.set_sender(OWNER);
    chain.take_logs();
    Env {
        table: chain.at::<SessionPaymentTable>(TABLE_ADDR),
        q: chain.at::<SessionQueue>(QUEUE),
        cr: chain.at::<CommitReveal>(ROUND),
        chain,
        token,
        pool,
        pay,
        quota,
        rep,
        reward,
        miners,
    }
}

fn queue_args(max_window: u64, max_uri: u32) -> Vec<u8> {
    (
        POOL_ADDR, TABLE_ADDR, QUOTA_ADDR, REP_ADDR, ROUND, max_window, max_uri,
    )
        .abi_encode_params()
}

/// The price SessionPaymentTable quotes for a task of `shape` (max tokens 256).
fn quote(env: &Env, shape: Shape, volume: u64) -> (U256, U256, U256, U256) {
    env.table
        .quote(
            0,
            256,
            shape.tier,
            shape.n,
            shape.consensus,
            0,
            0,
            shape.mode == MODE_QUOTA,
            volume,
        )
        .unwrap()
}

// ---- Construction ----------------------------------------------------------------------

#[test]
fn constructors_link_the_trio_and_fix_limits() {
    let env = setup();
    assert_eq!(
        env.q.links(),
        (POOL_ADDR, TABLE_ADDR, QUOTA_ADDR, REP_ADDR, ROUND)
    );
    assert_eq!(env.q.limits(), (86_400, 2_048));
    assert_eq!(env.q.counts(), (0, 0));
    assert_eq!(env.cr.links(), (PAYMENT_ADDR, ENGINE, QUEUE));
    assert_eq!(env.cr.max_uri_bytes(), 2_048);
    assert_eq!(env.cr.owner(), OWNER);
    let engine = env.chain.at::<ConsensusEngine>(ENGINE);
    assert_eq!(engine.links(), (POOL_ADDR, REP_ADDR, REWARD_ADDR, ROUND));
    assert_eq!(engine.slash_amount(), cor(10));
}

#[test]
fn constructors_reject_zero_links_and_out_of_bounds_limits() {
    let chain = TestChain::new();
    for index in 0..5u8 {
        let mut links = [Address::with_last_byte(1); 5];
        links[index as usize] = Address::ZERO;
        let args = (
            links[0], links[1], links[2], links[3], links[4], 86_400u64, 2_048u32,
        )
            .abi_encode_params();
        assert_eq!(
            chain.deploy::<SessionQueue>(QUEUE, &args),
            Err(err(InvalidLink { index }))
        );
    }
    for (window, uri) in [(59u64, 2_048u32), (604_801, 2_048), (600, 63), (600, 8_193)] {
        assert_eq!(
            chain.deploy::<SessionQueue>(QUEUE, &queue_args(window, uri)),
            Err(err(InvalidLimits {
                maxWindow: window,
                maxUriBytes: uri
            }))
        );
    }
    let short = (OWNER, PAYMENT_ADDR, ENGINE, 10u32).abi_encode_params();
    assert_eq!(
        chain.deploy::<CommitReveal>(ROUND, &short),
        Err(cr_err(commit_reveal::InvalidLimits { maxUriBytes: 10 }))
    );
    let zero = (OWNER, Address::ZERO, ENGINE, 100u32).abi_encode_params();
    assert_eq!(
        chain.deploy::<CommitReveal>(ROUND, &zero),
        Err(cr_err(commit_reveal::InvalidLink { index: 0 }))
    );
    let too_much = cor(1_001);
    let engine_args = (OWNER, POOL_ADDR, REP_ADDR, REWARD_ADDR, too_much).abi_encode_params();
    assert_eq!(
        chain.deploy::<ConsensusEngine>(ENGINE, &engine_args),
        Err(
            consensus_engine::Error::from(consensus_engine::InvalidSlashAmount {
                amount: too_much,
                max: cor(1_000)
            })
            .into()
        )
    );
}

#[test]
fn only_the_queue_opens_rounds_and_only_commit_reveal_scores() {
    let mut env = setup();
    env.chain.set_sender(ALICE);
    let cr = &mut env.cr;
    let opened = env.chain.tx(|| {
        cr.open(
            u(99),
            ALICE,
            u(0),
            cor(1),
            U256::ZERO,
            U256::ZERO,
            cor(1),
            B256::ZERO,
            u(0),
            u(1),
            u(2),
            u(0),
            vec![ALICE],
        )
    });
    assert_eq!(
        opened,
        Err(cr_err(commit_reveal::UnauthorizedCaller {
            role: 1,
            caller: ALICE
        }))
    );
    let mut engine = env.chain.at::<ConsensusEngine>(ENGINE);
    let scored = env.chain.tx(|| {
        engine.score(
            u(1),
            0,
            1,
            0,
            0,
            vec![ALICE],
            vec![2],
            vec![B256::ZERO],
            vec![B256::ZERO],
            vec![0],
        )
    });
    assert_eq!(
        scored,
        Err(
            consensus_engine::Error::from(consensus_engine::UnauthorizedCaller {
                role: 1,
                caller: ALICE
            })
            .into()
        )
    );
    assert!(env.chain.logs().is_empty());
}

// ---- Sessions --------------------------------------------------------------------------

#[test]
fn create_session_stores_settings_and_emits() {
    let mut env = setup();
    let shape = Shape {
        consensus: 1,
        tolerance: 24,
        tier: 1,
        ..Shape::default()
    };
    assert_eq!(env.create(shape), Ok(1));
    assert_eq!(env.create(Shape::default()), Ok(2));
    let (owner, model, mode, tolerance, cw, rw, meta) = env.q.session(1).unwrap();
    assert_eq!(
        (owner, model, mode, tolerance, cw, rw),
        (ALICE, MODEL, MODE_ESCROW, 24, WINDOW, WINDOW)
    );
    assert_eq!(
        TaskMeta::unpack(meta),
        TaskMeta {
            model_class: 0,
            sla_tier: 1,
            redundancy: 3,
            consensus: 1,
            threshold_bps: 6_000,
            validator_depth: 0,
            execution_depth: 0,
            route_hint: 7,
        }
    );
    assert_eq!(env.q.counts(), (2, 0));
    assert_eq!(
        env.chain.events::<SessionCreated>()[0],
        SessionCreated {
            sessionId: 1,
            owner: ALICE,
            modelId: MODEL,
            redundancy: 3,
            consensus: 1,
            thresholdBps: 6_000,
            paymentMode: MODE_ESCROW,
        }
    );
    assert_eq!(
        env.q.session(3),
        Err(UnknownSession { sessionId: 3 }.into())
    );
}

#[test]
fn create_session_rejects_bad_parameters() {
    let mut env = setup();
    let d = Shape::default();
    for n in [0u8, 8] {
        assert_eq!(
            env.create(Shape { n, ..d }),
            Err(err(InvalidRedundancy { n, min: 1, max: 7 }))
        );
    }
    for threshold_bps in [0u16, 10_001] {
        assert_eq!(
            env.create(Shape { threshold_bps, ..d }),
            Err(err(InvalidThreshold {
                thresholdBps: threshold_bps
            }))
        );
    }
    assert_eq!(
        env.create(Shape {
            consensus: 1,
            tolerance: 257,
            ..d
        }),
        Err(err(InvalidTolerance {
            consensus: 1,
            tolerance: 257
        }))
    );
    assert_eq!(
        env.create(Shape { mode: 2, ..d }),
        Err(err(InvalidPaymentMode { mode: 2 }))
    );
    // The table's own errors pass through unchanged.
    assert_eq!(
        env.create(Shape { tier: 9, ..d }),
        Err(session_payment_table::InvalidSlaTier { slaTier: 9 }.abi_encode())
    );
    assert_eq!(
        env.create(Shape { consensus: 4, ..d }),
        Err(session_payment_table::InvalidConsensusMethod { consensus: 4 }.abi_encode())
    );
    // Windows.
    env.chain.set_sender(ALICE);
    let q = &mut env.q;
    for (c, r) in [(0u64, 60u64), (60, 0), (86_401, 60), (60, 86_401)] {
        assert_eq!(
            env.chain
                .tx(|| q.create_session(MODEL, 3, 0, 6_667, 0, 0, 0, 0, 0, 0, c, r)),
            Err(err(InvalidWindow {
                commitWindow: c,
                revealWindow: r,
                max: 86_400
            }))
        );
    }
    // Unknown and disabled models.
    assert_eq!(
        env.chain
            .tx(|| q.create_session(99, 3, 0, 6_667, 0, 0, 0, 0, 0, 0, 60, 60)),
        Err(err(ModelUnavailable { modelId: 99 }))
    );
    env.chain.set_sender(OWNER);
    env.pool
        .set_model(MODEL, 0, keccak256("gemma-3-270m"), false)
        .unwrap();
    assert_eq!(env.create(d), Err(err(ModelUnavailable { modelId: MODEL })));
    assert_eq!(env.q.counts(), (0, 0));
    assert!(env.chain.events::<SessionCreated>().is_empty());
}

// ---- Submission and assignment ----------------------------------------------------------

#[test]
fn submit_locks_the_quote_and_assigns_distinct_eligible_miners() {
    let mut env = setup();
    let shape = Shape::default();
    let sid = env.create(shape).unwrap();
    let (total, miners_part, validators_part, treasury_part) = quote(&env, shape, 0);
    let task = env.submit(sid);
    assert_eq!(task, u(1));
    // Invariant 4: the locked amount is the quote.
    assert_eq!(env.pay.escrow_of(ALICE), (cor(1_000) - total, total));
    assert_eq!(
        env.pay.task_payment(task),
        (
            ALICE,
            MODE_ESCROW,
            session_payment::STATUS_LOCKED,
            total,
            miners_part,
            validators_part,
            treasury_part,
            U256::ZERO
        )
    );
    assert_eq!(env.pay.task_meta(task), (0, 0, 3, 0, 6_000, 0, 0, 7));
    let seats = env.seats(task);
    assert_eq!(seats.len(), 3);
    for (i, s) in seats.iter().enumerate() {
        assert!(env.miners.contains(s));
        assert!(!seats[..i].contains(s), "seats are distinct: {seats:?}");
    }
    let (status, n, committed, revealed, cd, rd, agreeing, result, meta) =
        env.cr.task(task).unwrap();
    assert_eq!((status, n, committed, revealed), (TASK_OPEN, 3, 0, 0));
    assert_eq!(meta, env.q.session(sid).unwrap().6);
    let (sid_, input) = env.q.task(task).unwrap();
    assert_eq!(sid_, sid);
    assert_eq!((cd, rd), (GENESIS + WINDOW, GENESIS + 2 * WINDOW));
    assert_eq!(input, keccak256("What is the capital of France?"));
    assert_eq!((agreeing, result), (0, 0));
    let submitted = env.chain.events::<TaskSubmitted>();
    assert_eq!(
        submitted,
        vec![TaskSubmitted {
            taskId: task,
            sessionId: sid,
            payer: ALICE,
            inputHash: input,
            inputUri: "data:,What is the capital of France?".into(),
            maxTokens: 256,
            sampling: B256::with_last_byte(1),
            price: total,
            commitDeadline: cd,
            revealDeadline: rd,
        }]
    );
    let assigned = env.chain.events::<TaskAssigned>();
    assert_eq!(
        assigned,
        seats
            .iter()
            .enumerate()
            .map(|(i, &m)| TaskAssigned {
                taskId: task,
                miner: m,
                seat: i as u8
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(env.q.counts(), (1, 1));
    env.assert_conserved();
}

#[test]
fn assignment_uses_every_miner_when_n_equals_the_eligible_count() {
    let mut env = setup_miners(7);
    let sid = env
        .create(Shape {
            n: 7,
            ..Shape::default()
        })
        .unwrap();
    for _ in 0..3 {
        let task = env.submit(sid);
        let mut seats = env.seats(task);
        seats.sort();
        let mut all = env.miners.clone();
        all.sort();
        assert_eq!(seats, all);
    }
}

#[test]
fn assignment_spreads_tasks_and_favours_higher_levels() {
    let mut env = setup_miners(6);
    // Lift miner 0 to a high level through NodeReputation's own rules.
    env.chain.set_sender(ENGINE);
    for _ in 0..200 {
        env.rep.record_task(miner(0), true, true, true).unwrap();
    }
    assert!(env.rep.level_of(miner(0)) > 0);
    let sid = env
        .create(Shape {
            n: 1,
            threshold_bps: 10_000,
            ..Shape::default()
        })
        .unwrap();
    let mut counts = [0u32; 6];
    for i in 0..120 {
        let task = env.submit_as(ALICE, sid, &format!("prompt {i}")).unwrap();
        let seat = env.seats(task)[0];
        counts[env.miners.iter().position(|&m| m == seat).unwrap()] += 1;
    }
    // Uniform would give 20 each; two choices by level give the top node about 11/36.
    assert!(counts[0] > 25, "{counts:?}");
    assert!(counts[1..].iter().all(|&c| c > 0), "{counts:?}");
}

#[test]
fn submit_rejects_bad_input_and_changes_nothing() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    env.chain.take_logs();
    assert_eq!(
        env.submit_as(ALICE, 9, "x"),
        Err(err(UnknownSession { sessionId: 9 }))
    );
    assert_eq!(
        env.submit_as(BOB, sid, "x"),
        Err(err(NotSessionOwner {
            sessionId: sid,
            caller: BOB
        }))
    );
    env.chain.set_sender(ALICE);
    let q = &mut env.q;
    assert_eq!(
        env.chain
            .tx(|| q.submit_task(sid, B256::ZERO, "data:,".into(), 16, B256::ZERO)),
        Err(err(EmptyInput {}))
    );
    let long = "x".repeat(2_049);
    assert_eq!(
        env.chain
            .tx(|| q.submit_task(sid, B256::with_last_byte(1), long, 16, B256::ZERO)),
        Err(err(UriTooLong {
            length: u(2_049),
            max: u(2_048)
        }))
    );
    assert_eq!(
        env.chain.tx(|| q.submit_task(
            sid,
            B256::with_last_byte(1),
            "d".into(),
            1 << 30,
            B256::ZERO
        )),
        Err(session_payment_table::MaxTokensOutOfRange {
            maxTokens: 1 << 30,
            max: session_payment_table::MAX_TOKENS
        }
        .abi_encode())
    );
    assert_eq!(env.q.counts(), (1, 0));
    assert_eq!(env.pay.escrow_of(ALICE), (cor(1_000), U256::ZERO));
    assert!(env.chain.logs().is_empty());
}

#[test]
fn submit_without_escrow_or_miners_passes_the_callee_error_up() {
    let mut env = setup_miners(2);
    let sid = env.create(Shape::default()).unwrap();
    assert_eq!(
        env.submit_as(ALICE, sid, "x"),
        Err(err(NotEnoughMiners {
            modelId: MODEL,
            available: 2,
            needed: 3
        }))
    );
    let sid1 = env
        .create(Shape {
            n: 1,
            ..Shape::default()
        })
        .unwrap();
    // BOB has no escrow.
    env.chain.set_sender(BOB);
    let q = &mut env.q;
    let bob_session = env
        .chain
        .tx(|| q.create_session(MODEL, 1, 0, 10_000, 0, 0, 0, 0, 0, 0, 60, 60))
        .unwrap();
    let (total, ..) = quote(
        &env,
        Shape {
            n: 1,
            ..Shape::default()
        },
        0,
    );
    assert_eq!(
        env.submit_as(BOB, bob_session, "x"),
        Err(session_payment::InsufficientEscrow {
            payer: BOB,
            available: U256::ZERO,
            needed: total
        }
        .abi_encode())
    );
    assert!(env.submit_as(ALICE, sid1, "x").is_ok());
    env.assert_conserved();
}

#[test]
fn pausing_the_payment_stops_new_tasks_but_open_tasks_finish() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    env.chain.set_sender(OWNER);
    env.pay.pause().unwrap();
    assert_eq!(
        env.submit_as(ALICE, sid, "x"),
        Err(session_payment::EnforcedPause {}.abi_encode())
    );
    let a = answer("Paris");
    env.play(
        task,
        &[
            Some((a.clone(), true)),
            Some((a.clone(), true)),
            Some((a, true)),
        ],
    );
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    env.chain.set_sender(OWNER);
    env.pay.unpause().unwrap();
    assert!(env.submit_as(ALICE, sid, "x").is_ok());
    env.assert_conserved();
}

// ---- Commit and reveal ------------------------------------------------------------------

#[test]
fn commit_checks_seat_state_and_deadline() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let outsider = *env.miners.iter().find(|m| !seats.contains(m)).unwrap();
    let a = answer("Paris");
    assert_eq!(
        env.commit(task, outsider, &a),
        Err(cr_err(NotAssigned {
            taskId: task,
            caller: outsider
        }))
    );
    assert_eq!(
        env.commit(u(9), seats[0], &a),
        Err(cr_err(commit_reveal::UnknownTask { taskId: u(9) }))
    );
    env.commit(task, seats[0], &a).unwrap();
    assert_eq!(
        env.commit(task, seats[0], &a),
        Err(cr_err(AlreadyCommitted {
            taskId: task,
            miner: seats[0]
        }))
    );
    let c = commitment(task, seats[0], a.output_hash, a.fingerprint, 0, a.salt);
    assert_eq!(
        env.chain.events::<Committed>(),
        vec![Committed {
            taskId: task,
            miner: seats[0],
            commitment: c
        }]
    );
    assert_eq!(env.cr.seat(task, 0).unwrap().1, SEAT_COMMITTED);
    assert_eq!(env.cr.seat(task, 0).unwrap().2, c);
    assert_eq!(env.cr.task(task).unwrap().2, 1);
    env.chain.advance(WINDOW + 1);
    assert_eq!(
        env.commit(task, seats[1], &a),
        Err(cr_err(OutsideWindow {
            taskId: task,
            opensAt: 0,
            closesAt: GENESIS + WINDOW
        }))
    );
}

#[test]
fn reveal_opens_after_all_commits_or_the_deadline_and_must_match() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let a = answer("Paris");
    assert_eq!(
        env.reveal(task, seats[0], &a),
        Err(cr_err(NotCommitted {
            taskId: task,
            miner: seats[0]
        }))
    );
    env.commit(task, seats[0], &a).unwrap();
    env.commit(task, seats[1], &a).unwrap();
    // Not every seat committed and the commit window is open.
    let early = cr_err(OutsideWindow {
        taskId: task,
        opensAt: GENESIS + WINDOW + 1,
        closesAt: GENESIS + 2 * WINDOW,
    });
    assert_eq!(env.reveal(task, seats[0], &a), Err(early));
    env.commit(task, seats[2], &a).unwrap();
    // A wrong salt, and a reveal of someone else's answer, do not match.
    let mut wrong = a.clone();
    wrong.salt = B256::with_last_byte(9);
    let mismatch = cr_err(CommitmentMismatch {
        taskId: task,
        miner: seats[0],
    });
    assert_eq!(env.reveal(task, seats[0], &wrong), Err(mismatch.clone()));
    let other = answer("London");
    assert_eq!(env.reveal(task, seats[0], &other), Err(mismatch));
    env.reveal(task, seats[0], &a).unwrap();
    assert_eq!(
        env.reveal(task, seats[0], &a),
        Err(cr_err(AlreadyRevealed {
            taskId: task,
            miner: seats[0]
        }))
    );
    let (m, state, _, out, fp, score, uri) = env.cr.seat(task, 0).unwrap();
    assert_eq!(
        (m, state, out, fp, score, uri),
        (
            seats[0],
            SEAT_REVEALED,
            a.output_hash,
            a.fingerprint,
            0,
            Bytes::from(a.uri.clone().into_bytes())
        )
    );
    assert_eq!(
        env.chain.events::<Revealed>(),
        vec![Revealed {
            taskId: task,
            miner: seats[0],
            outputHash: a.output_hash,
            fingerprint: a.fingerprint,
            score: 0,
            outputUri: a.uri.clone(),
        }]
    );
    let mut long = a.clone();
    long.uri = "u".repeat(2_049);
    assert_eq!(
        env.reveal(task, seats[1], &long),
        Err(cr_err(OutputUriTooLong {
            length: u(2_049),
            max: u(2_048)
        }))
    );
    env.chain.advance(2 * WINDOW + 1);
    assert_eq!(
        env.reveal(task, seats[1], &a),
        Err(cr_err(OutsideWindow {
            taskId: task,
            opensAt: GENESIS + WINDOW + 1,
            closesAt: GENESIS + 2 * WINDOW
        }))
    );
}

#[test]
fn a_copied_commitment_cannot_be_revealed_by_the_copier() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let a = answer("Paris");
    let honest = commitment(task, seats[0], a.output_hash, a.fingerprint, 0, a.salt);
    env.commit_raw(task, seats[0], honest).unwrap();
    env.commit_raw(task, seats[1], honest).unwrap();
    env.commit(task, seats[2], &a).unwrap();
    env.reveal(task, seats[0], &a).unwrap();
    // The copier learns the answer from the first reveal, but its commitment binds the
    // honest miner's address.
    assert_eq!(
        env.reveal(task, seats[1], &a),
        Err(cr_err(CommitmentMismatch {
            taskId: task,
            miner: seats[1]
        }))
    );
}

// ---- Finalization -------------------------------------------------------------------------

#[test]
fn exact_consensus_settles_rewards_and_records_reputation() {
    let mut env = setup();
    let shape = Shape::default();
    let sid = env.create(shape).unwrap();
    let (total, miners_part, validators_part, treasury_part) = quote(&env, shape, 0);
    let task = env.submit(sid);
    let seats = env.seats(task);
    assert_eq!(
        env.finalize(task),
        Err(cr_err(NotReady {
            taskId: task,
            readyAt: GENESIS + WINDOW + 1
        }))
    );
    let a = answer("Paris");
    env.play(
        task,
        &[
            Some((a.clone(), true)),
            Some((a.clone(), true)),
            Some((a.clone(), true)),
        ],
    );
    env.chain.take_logs();
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let (status, _, committed, revealed, _, _, agreeing, result, _) = env.cr.task(task).unwrap();
    assert_eq!(
        (status, committed, revealed, agreeing, result),
        (TASK_RESOLVED, 3, 3, 0b111, 1)
    );
    assert_eq!(
        env.chain.events::<TaskFinalized>(),
        vec![TaskFinalized {
            taskId: task,
            status: TASK_RESOLVED,
            outputHash: a.output_hash,
            outputUri: a.uri.clone(),
            agreeingMiners: seats.clone(),
        }]
    );
    // Payment: each miner a third of the miners' part; nothing refunded.
    let share = miners_part / u(3);
    for m in &seats {
        assert_eq!(env.pay.claimable(*m), share);
    }
    assert_eq!(
        env.pay.claimable(TREASURY),
        treasury_part + validators_part + (miners_part - share * u(3))
    );
    assert_eq!(env.pay.escrow_of(ALICE), (cor(1_000) - total, U256::ZERO));
    assert_eq!(
        env.pay.task_payment(task).2,
        session_payment::STATUS_SETTLED
    );
    // Reputation and reward points.
    for m in &seats {
        let r = env.rep.reputation(*m);
        assert_eq!((r.0, r.1, r.2, r.3, r.4, r.5), (1, 1, 1, 1, 0, 0));
        assert!(env.reward.points_of(*m, 0) > U256::ZERO);
    }
    // Gas of every phase is recorded (the native test chain meters nothing, so zero
    // here; the dev node's figures are in the gas table).
    let _ = env.pay.task_gas(task);
    // Finalizing again changes nothing.
    env.chain.take_logs();
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    assert!(env.chain.logs().is_empty());
    assert_eq!(env.pay.claimable(seats[0]), share);
    assert_eq!(
        env.commit(task, seats[0], &a),
        Err(cr_err(TaskClosed {
            taskId: task,
            status: TASK_RESOLVED
        }))
    );
    env.assert_conserved();
}

#[test]
fn a_dishonest_minority_loses_consensus_and_is_not_paid() {
    let mut env = setup();
    let shape = Shape::default();
    let sid = env.create(shape).unwrap();
    let (total, miners_part, ..) = quote(&env, shape, 0);
    let task = env.submit(sid);
    let seats = env.seats(task);
    let good = answer("Paris");
    let bad = answer("Buy COR now");
    env.play(
        task,
        &[
            Some((good.clone(), true)),
            Some((bad, true)),
            Some((good.clone(), true)),
        ],
    );
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let share = miners_part / u(3);
    assert_eq!(env.pay.claimable(seats[0]), share);
    assert_eq!(env.pay.claimable(seats[1]), U256::ZERO);
    assert_eq!(env.pay.claimable(seats[2]), share);
    // The liar's share goes back to the payer.
    assert_eq!(
        env.pay.escrow_of(ALICE),
        (cor(1_000) - total + share, U256::ZERO)
    );
    let liar = env.rep.reputation(seats[1]);
    assert_eq!((liar.3, liar.4), (0, 1));
    assert_eq!(env.reward.points_of(seats[1], 0), U256::ZERO);
    assert_eq!(env.cr.task(task).unwrap().6, 0b101);
    env.assert_conserved();
}

#[test]
fn no_agreement_is_unresolved_and_refunded_in_full() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    env.play(
        task,
        &[
            Some((answer("one"), true)),
            Some((answer("two"), true)),
            Some((answer("three"), true)),
        ],
    );
    assert_eq!(env.finalize(task), Ok(TASK_UNRESOLVED));
    assert_eq!(env.pay.escrow_of(ALICE), (cor(1_000), U256::ZERO));
    assert_eq!(
        env.pay.task_payment(task).2,
        session_payment::STATUS_REFUNDED
    );
    for m in env.seats(task) {
        assert_eq!(env.pay.claimable(m), U256::ZERO);
        assert_eq!(env.reward.points_of(m, 0), U256::ZERO);
    }
    assert!(env.chain.events::<TaskFinalized>()[0]
        .agreeingMiners
        .is_empty());
    env.assert_conserved();
}

#[test]
fn a_miner_that_commits_and_never_reveals_is_slashed_and_the_task_still_finalizes() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let a = answer("Paris");
    for m in &seats {
        env.commit(task, *m, &a).unwrap();
    }
    env.reveal(task, seats[0], &a).unwrap();
    env.reveal(task, seats[1], &a).unwrap();
    assert_eq!(
        env.finalize(task),
        Err(cr_err(NotReady {
            taskId: task,
            readyAt: GENESIS + 2 * WINDOW + 1
        }))
    );
    env.chain.set_timestamp(GENESIS + 2 * WINDOW + 1);
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let slashed = env.chain.events::<node_pool::Slashed>();
    assert_eq!(slashed.len(), 1);
    assert_eq!(slashed[0].node, seats[2]);
    assert_eq!(slashed[0].amount, cor(10));
    assert_eq!(slashed[0].reason, SLASH_NO_REVEAL);
    assert_eq!(env.pool.node(seats[2]).1, cor(MIN_STAKE) - cor(10));
    let r = env.rep.reputation(seats[2]);
    assert_eq!((r.1, r.2, r.5), (1, 0, 1));
    env.assert_conserved();
}

#[test]
fn a_miner_that_never_commits_loses_reputation_only() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let a = answer("Paris");
    env.play(
        task,
        &[Some((a.clone(), true)), Some((a.clone(), true)), None],
    );
    // Every miner that committed revealed and the commit window closed: ready now.
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    assert!(env.chain.events::<node_pool::Slashed>().is_empty());
    assert_eq!(env.pool.node(seats[2]).1, cor(MIN_STAKE));
    let r = env.rep.reputation(seats[2]);
    assert_eq!((r.0, r.1, r.5), (1, 0, 1));
}

#[test]
fn a_task_nobody_answers_times_out_and_refunds() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let task = env.submit(sid);
    assert_eq!(
        env.finalize(task),
        Err(cr_err(NotReady {
            taskId: task,
            readyAt: GENESIS + WINDOW + 1
        }))
    );
    env.chain.advance(WINDOW + 1);
    assert_eq!(env.finalize(task), Ok(TASK_UNRESOLVED));
    assert_eq!(env.pay.escrow_of(ALICE), (cor(1_000), U256::ZERO));
    env.assert_conserved();
}

#[test]
fn finalize_many_closes_the_ready_tasks_and_skips_the_rest() {
    let mut env = setup();
    let sid = env.create(Shape::default()).unwrap();
    let answered = env.submit(sid);
    let a = answer("Paris");
    env.play(
        answered,
        &[
            Some((a.clone(), true)),
            Some((a.clone(), true)),
            Some((a.clone(), true)),
        ],
    );
    let silent = env.submit(sid);
    let done = env.submit(sid);
    env.play(
        done,
        &[
            Some((a.clone(), true)),
            Some((a.clone(), true)),
            Some((a.clone(), true)),
        ],
    );
    assert_eq!(env.finalize(done), Ok(TASK_RESOLVED));
    env.chain.take_logs();
    // `silent` is not ready, `done` is final already: only `answered` closes.
    env.chain.set_sender(OUTSIDER);
    let cr = &mut env.cr;
    let ids = vec![answered, silent, done];
    assert_eq!(env.chain.tx(|| cr.finalize_many(ids.clone())), Ok(1));
    let closed = env.chain.events::<TaskFinalized>();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].taskId, answered);
    assert_eq!(env.cr.task(silent).unwrap().0, TASK_OPEN);
    // Once the silent task times out, the same batch closes it and nothing else.
    env.chain.advance(WINDOW + 1);
    let cr = &mut env.cr;
    assert_eq!(env.chain.tx(|| cr.finalize_many(ids.clone())), Ok(1));
    assert_eq!(env.cr.task(silent).unwrap().0, TASK_UNRESOLVED);
    let cr = &mut env.cr;
    assert_eq!(env.chain.tx(|| cr.finalize_many(ids)), Ok(0));
    // An unknown id reverts the batch with a typed error.
    let cr = &mut env.cr;
    assert_eq!(
        env.chain.tx(|| cr.finalize_many(vec![u(999)])),
        Err(cr_err(commit_reveal::UnknownTask { taskId: u(999) }))
    );
    env.assert_conserved();
}

#[test]
fn similarity_consensus_takes_the_medoid_of_the_near_identical_cluster() {
    let mut env = setup();
    let sid = env
        .create(Shape {
            consensus: 1,
            tolerance: 40,
            ..Shape::default()
        })
        .unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let a = answer("The capital of France is Paris, a city on the Seine.");
    let b = answer("The capital of France is Paris, a city on the Seine river.");
    let c = answer("Bananas are yellow and grow in tropical climates worldwide.");
    assert!(cor_consensus::hamming(&a.fingerprint, &b.fingerprint) <= 40);
    assert!(cor_consensus::hamming(&a.fingerprint, &c.fingerprint) > 40);
    env.play(
        task,
        &[
            Some((a.clone(), true)),
            Some((b.clone(), true)),
            Some((c, true)),
        ],
    );
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let finalized = &env.chain.events::<TaskFinalized>()[0];
    assert_eq!(finalized.agreeingMiners, vec![seats[0], seats[1]]);
    assert!([a.output_hash, b.output_hash].contains(&finalized.outputHash));
    assert_eq!(env.cr.task(task).unwrap().6, 0b011);
    env.assert_conserved();
}

#[test]
fn median_consensus_agrees_within_the_tolerance() {
    let mut env = setup();
    let sid = env
        .create(Shape {
            consensus: 2,
            tolerance: 2,
            ..Shape::default()
        })
        .unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    let (x, y, z) = (scored("7/10", 70), scored("7.1/10", 71), scored("1/10", 10));
    env.play(
        task,
        &[Some((x.clone(), true)), Some((y, true)), Some((z, true))],
    );
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let finalized = &env.chain.events::<TaskFinalized>()[0];
    assert_eq!(finalized.agreeingMiners, vec![seats[0], seats[1]]);
    assert_eq!(finalized.outputHash, x.output_hash);
}

#[test]
fn weighted_consensus_counts_reputation() {
    let mut env = setup();
    let sid = env
        .create(Shape {
            consensus: 3,
            threshold_bps: 5_000,
            ..Shape::default()
        })
        .unwrap();
    let task = env.submit(sid);
    let seats = env.seats(task);
    // Seat 2 becomes a high-level node; seats 0 and 1 stay at level 0.
    env.chain.set_sender(ENGINE);
    for _ in 0..200 {
        env.rep.record_task(seats[2], true, true, true).unwrap();
    }
    let w2 = env.rep.vote_weight(seats[2]);
    assert!(w2 > 2 * env.rep.vote_weight(seats[0]), "weight {w2}");
    let (a, b) = (answer("Paris"), answer("Lyon"));
    env.play(
        task,
        &[
            Some((b.clone(), true)),
            Some((b, true)),
            Some((a.clone(), true)),
        ],
    );
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let finalized = &env.chain.events::<TaskFinalized>()[0];
    assert_eq!(finalized.outputHash, a.output_hash);
    assert_eq!(finalized.agreeingMiners, vec![seats[2]]);
}

#[test]
fn quota_backed_tasks_use_free_units_then_pass_quota_exhausted_up() {
    let mut env = setup();
    // BOB stakes for the lowest tier; stake counts from the next period.
    env.chain.set_sender(BOB);
    env.quota.stake(cor(1_000)).unwrap();
    env.chain.set_timestamp(GENESIS + 86_400);
    let shape = Shape {
        mode: MODE_QUOTA,
        n: 1,
        threshold_bps: 10_000,
        ..Shape::default()
    };
    env.chain.set_sender(BOB);
    let q = &mut env.q;
    let sid = env
        .chain
        .tx(|| q.create_session(MODEL, 1, 0, 10_000, 0, 0, 0, 0, MODE_QUOTA, 0, 60, 60))
        .unwrap();
    let (_, _, left_before, _) = env.quota.quota(BOB, 0, 1).unwrap();
    assert!(left_before > U256::ZERO);
    let task = env.submit_as(BOB, sid, "grade this").unwrap();
    assert_eq!(
        env.pay.task_payment(task),
        (
            BOB,
            MODE_QUOTA,
            session_payment::STATUS_LOCKED,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO
        )
    );
    assert!(env.quota.quota(BOB, 0, 1).unwrap().2 < left_before);
    let a = answer("B+");
    env.play(task, &[Some((a, true))]);
    assert_eq!(env.finalize(task), Ok(TASK_RESOLVED));
    let seat = env.seats(task)[0];
    assert_eq!(env.pay.claimable(seat), U256::ZERO);
    assert!(env.reward.points_of(seat, env.reward.current_epoch()) > U256::ZERO);
    // Use up the bucket; the next task reverts with StakeQuota's error.
    let mut i = 0;
    let exhausted = loop {
        i += 1;
        env.chain.advance(60);
        match env.submit_as(BOB, sid, &format!("task {i}")) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    let decoded = stake_quota::QuotaExhausted::abi_decode(&exhausted)
        .expect("the revert is StakeQuota's QuotaExhausted");
    assert_eq!(
        (decoded.user, decoded.modelClass, decoded.redundancy),
        (BOB, 0, 1)
    );
    let _ = shape;
    env.assert_conserved();
}

// ---- ABI ---------------------------------------------------------------------------------

#[test]
fn raw_calls_through_the_router_decode_and_reject_malformed_calldata() {
    let env = setup();
    // A truncated `commit(uint256,bytes32)` is rejected without state change.
    let mut data = alloy_primitives::keccak256("commit(uint256,bytes32)")[..4].to_vec();
    data.extend_from_slice(&[0u8; 40]);
    assert!(env.chain.call(ALICE, QUEUE, data).is_err());
    // `counts()` through the router.
    let data = alloy_primitives::keccak256("counts()")[..4].to_vec();
    let out = env.chain.call(ALICE, QUEUE, data).unwrap();
    assert_eq!(<(u64, u64)>::abi_decode_params(&out).unwrap(), (0, 0));
}

// ---- Properties ---------------------------------------------------------------------------

/// One step of a random lifecycle.
#[derive(Clone, Debug)]
enum Op {
    Submit,
    Commit { task: u8, seat: u8, answer: u8 },
    Reveal { task: u8, seat: u8, answer: u8 },
    Finalize { task: u8 },
    Advance { seconds: u64 },
    Claim { miner: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Submit),
        4 => (0u8..4, 0u8..3, 0u8..3).prop_map(|(task, seat, answer)| Op::Commit { task, seat, answer }),
        4 => (0u8..4, 0u8..3, 0u8..3).prop_map(|(task, seat, answer)| Op::Reveal { task, seat, answer }),
        2 => (0u8..4).prop_map(|task| Op::Finalize { task }),
        1 => (1u64..90).prop_map(|seconds| Op::Advance { seconds }),
        1 => (0u8..5).prop_map(|miner| Op::Claim { miner }),
    ]
}

const ANSWERS: [&str; 3] = ["Paris", "Paris.", "Lyon"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Invariants 1 (conservation), 2 (finalized once, nobody paid twice) and 3 (only
    /// assigned miners commit; reveals match commitments) over random sequences.
    #[test]
    fn lifecycle_invariants_hold(ops in proptest::collection::vec(op(), 1..40)) {
        let mut env = setup();
        let sid = env.create(Shape::default()).unwrap();
        let mut tasks: Vec<U256> = Vec::new();
        // What each seat committed to (task index, seat) -> answer index.
        let mut committed: std::collections::HashMap<(usize, u8), u8> = Default::default();
        let mut finalized: std::collections::HashSet<usize> = Default::default();
        let mut paid_before: std::collections::HashMap<Address, U256> = Default::default();
        for op in ops {
            match op {
                Op::Submit => {
                    if let Ok(t) = env.submit_as(ALICE, sid, &format!("task {}", tasks.len())) {
                        tasks.push(t);
                    }
                }
                Op::Commit { task, seat, answer: k } => {
                    let Some(&t) = tasks.get(task as usize) else { continue };
                    let who = env.seats(t)[seat as usize];
                    let ok = env.commit(t, who, &answer(ANSWERS[k as usize])).is_ok();
                    if ok {
                        // Invariant 3: a commit succeeds only once per seat.
                        prop_assert!(committed.insert((task as usize, seat), k).is_none());
                    }
                    // An outsider never commits.
                    let outsider = *env.miners.iter().find(|m| !env.seats(t).contains(m)).unwrap();
                    prop_assert!(env.commit(t, outsider, &answer("x")).is_err());
                }
                Op::Reveal { task, seat, answer: k } => {
                    let Some(&t) = tasks.get(task as usize) else { continue };
                    let who = env.seats(t)[seat as usize];
                    let ok = env.reveal(t, who, &answer(ANSWERS[k as usize])).is_ok();
                    if ok {
                        // Invariant 3: only the committed answer reveals.
                        prop_assert_eq!(committed.get(&(task as usize, seat)), Some(&k));
                    }
                }
                Op::Finalize { task } => {
                    let Some(&t) = tasks.get(task as usize) else { continue };
                    let before: Vec<U256> = env.miners.iter().map(|m| env.pay.claimable(*m)).collect();
                    if let Ok(status) = env.finalize(t) {
                        prop_assert!(status == TASK_RESOLVED || status == TASK_UNRESOLVED);
                        if !finalized.insert(task as usize) {
                            // Invariant 2: a second finalize pays nobody.
                            let after: Vec<U256> = env.miners.iter().map(|m| env.pay.claimable(*m)).collect();
                            prop_assert_eq!(before, after);
                        }
                    }
                }
                Op::Advance { seconds } => env.chain.advance(seconds),
                Op::Claim { miner: i } => {
                    let m = env.miners[i as usize];
                    let owed = env.pay.claimable(m);
                    env.chain.set_sender(m);
                    let pay = &mut env.pay;
                    if env.chain.tx(|| pay.claim()).is_ok() {
                        *paid_before.entry(m).or_default() += owed;
                    }
                }
            }
            env.assert_conserved();
        }
        // Invariant 2: every finalized task's payment is closed exactly once.
        for (i, t) in tasks.iter().enumerate() {
            let status = env.cr.task(*t).unwrap().0;
            let pay_status = env.pay.task_payment(*t).2;
            if finalized.contains(&i) {
                prop_assert!(status != TASK_OPEN);
                prop_assert!(pay_status == session_payment::STATUS_SETTLED || pay_status == session_payment::STATUS_REFUNDED);
            } else {
                prop_assert_eq!(status, TASK_OPEN);
                prop_assert_eq!(pay_status, session_payment::STATUS_LOCKED);
            }
        }
    }
}
