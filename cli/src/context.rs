//! What every command starts from: the settings, a connection with the chosen wallet,
//! the deployed suite's addresses, and the output mode.

use alloy::{rpc::types::TransactionReceipt, signers::local::PrivateKeySigner};
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use cor_abi::CorToken;
use cor_client::{wallet, Connection, Deployment, Suite};
use serde_json::{json, Value};

use crate::{
    amount::cor,
    config::{keystore_password, Settings, WalletSource},
    error::CliError,
};

/// The result of a command: what is printed as text and as JSON.
#[derive(Debug)]
pub(crate) struct Output {
    /// The text form (printed as it is, with a final newline).
    pub(crate) text: String,
    /// The JSON form.
    pub(crate) json: Value,
}

impl Output {
    /// An output from both forms.
    pub(crate) fn new(text: impl Into<String>, json: Value) -> Self {
        Self {
            text: text.into(),
            json,
        }
    }
}

/// A command's starting point.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Resolved settings.
    pub(crate) settings: Settings,
}

/// A connection and the suite it talks to.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// The connection (signing with the wallet, or a throwaway key for reads).
    pub(crate) conn: Connection,
    /// The suite's addresses.
    pub(crate) suite: Suite,
    /// The deployment record.
    pub(crate) deployment: Deployment,
}

impl Ctx {
    /// The wallet's signer, or `None` when no wallet was chosen.
    ///
    /// # Errors
    /// [`CliError::Config`] for a key that does not load.
    pub(crate) fn signer(&self) -> Result<Option<PrivateKeySigner>, CliError> {
        let config = |e: wallet::WalletError| CliError::Config(e.to_string());
        Ok(match &self.settings.wallet {
            WalletSource::None => None,
            WalletSource::Dev(i) => Some(wallet::dev_account(*i).map_err(config)?),
            WalletSource::PrivateKey(key) => Some(wallet::from_private_key(key).map_err(config)?),
            WalletSource::Keystore {
                path,
                password_file,
            } => {
                let password = keystore_password(password_file.as_deref())?;
                Some(wallet::from_keystore(path, &password).map_err(config)?)
            }
        })
    }

    /// A connection that signs with the wallet.
    ///
    /// # Errors
    /// [`CliError::Config`] when no wallet was chosen; connection errors.
    pub(crate) async fn connect_signer(&self) -> Result<Connection, CliError> {
        let signer = self.signer()?.ok_or_else(|| {
            CliError::Config(
                "this command sends a transaction: choose a wallet with --keystore FILE, \
                 --dev-account N (dev node) or --private-key HEX (dev chains only)"
                    .to_owned(),
            )
        })?;
        self.connect_with(signer).await
    }

    /// A connection for reads: the wallet's account when one was chosen, otherwise a
    /// throwaway key that never signs.
    ///
    /// # Errors
    /// Connection errors.
    pub(crate) async fn connect_reader(&self) -> Result<Connection, CliError> {
        let signer = self.signer()?.unwrap_or_else(PrivateKeySigner::random);
        self.connect_with(signer).await
    }

    async fn connect_with(&self, signer: PrivateKeySigner) -> Result<Connection, CliError> {
        Connection::connect(&self.settings.rpc, signer)
            .await
            .map_err(|e| {
                CliError::Failed(format!(
                    "cannot connect to {}: {e} (is the node running? set --rpc)",
                    self.settings.rpc
                ))
            })
    }

    /// The deployment record of the connected chain.
    ///
    /// # Errors
    /// [`CliError::Failed`] when there is none or it is unfinished.
    pub(crate) fn deployment(&self, chain_id: u64) -> Result<Deployment, CliError> {
        let path = Deployment::path_for(&self.settings.deployments, chain_id);
        match Deployment::load(&path) {
            Ok(Some(record)) if record.complete => Ok(record),
            Ok(Some(_)) => Err(CliError::Failed(format!(
                "the deployment in {} is not finished: run `cor deploy` again to complete it",
                path.display()
            ))),
            Ok(None) => Err(CliError::Failed(format!(
                "no deployment of chain {chain_id} in {}: run `cor deploy` first, or point \
                 --deployments at the folder that holds {chain_id}.json",
                path.display()
            ))),
            Err(e) => Err(CliError::Failed(e.to_string())),
        }
    }

    async fn chain_from(&self, conn: Connection) -> Result<Chain, CliError> {
        let deployment = self.deployment(conn.chain_id())?;
        let suite = deployment
            .suite()
            .map_err(|e| CliError::Failed(e.to_string()))?;
        suite.label(&conn);
        Ok(Chain {
            conn,
            suite,
            deployment,
        })
    }

    /// The suite with a signing connection.
    ///
    /// # Errors
    /// As [`Ctx::connect_signer`] and [`Ctx::deployment`].
    pub(crate) async fn signing(&self) -> Result<Chain, CliError> {
        let conn = self.connect_signer().await?;
        self.chain_from(conn).await
    }

    /// The suite with a reading connection.
    ///
    /// # Errors
    /// As [`Ctx::connect_reader`] and [`Ctx::deployment`].
    pub(crate) async fn reading(&self) -> Result<Chain, CliError> {
        let conn = self.connect_reader().await?;
        self.chain_from(conn).await
    }

    /// Prints a command's output in the chosen form. A closed pipe (`cor ... | head`)
    /// is not the command's failure, so write errors are ignored.
    pub(crate) fn print(&self, output: &Output) {
        use std::io::Write;
        let text = if self.settings.json {
            serde_json::to_string_pretty(&output.json).unwrap_or_default()
        } else {
            output.text.trim_end().to_owned()
        };
        if text.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// A mined transaction, in words and as JSON.
pub(crate) fn tx_line(receipt: &TransactionReceipt) -> String {
    format!(
        "tx {} mined in block {}, {} gas",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default(),
        group(receipt.gas_used)
    )
}

/// A mined transaction as JSON.
pub(crate) fn tx_json(receipt: &TransactionReceipt) -> Value {
    json!({
        "tx_hash": receipt.transaction_hash,
        "block": receipt.block_number,
        "gas_used": receipt.gas_used,
    })
}

/// A number with thin groups of three digits: `1 234 567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

impl Chain {
    /// Sends `call` to `to`.
    ///
    /// # Errors
    /// The decoded revert, or the RPC error.
    pub(crate) async fn send<C: SolCall>(
        &self,
        to: Address,
        call: &C,
    ) -> Result<TransactionReceipt, CliError> {
        Ok(self.conn.send(to, call).await?)
    }

    /// Makes sure `spender` may pull `amount` of the wallet's COR, approving exactly
    /// what is missing first; returns the approval's receipt when one was sent.
    ///
    /// # Errors
    /// As [`Chain::send`].
    pub(crate) async fn ensure_allowance(
        &self,
        spender: Address,
        amount: U256,
    ) -> Result<Option<TransactionReceipt>, CliError> {
        let balance = self
            .conn
            .view(
                self.suite.token,
                &CorToken::balanceOfCall {
                    account: self.conn.address(),
                },
            )
            .await?;
        if balance < amount {
            return Err(CliError::Failed(format!(
                "{} holds {}, {} needed (get COR first, e.g. `cor token mint` by the owner on \
                 a dev chain)",
                self.conn.address(),
                cor(balance),
                cor(amount)
            )));
        }
        let allowance = self
            .conn
            .view(
                self.suite.token,
                &CorToken::allowanceCall {
                    owner: self.conn.address(),
                    spender,
                },
            )
            .await?;
        if allowance >= amount {
            return Ok(None);
        }
        Ok(Some(
            self.send(
                self.suite.token,
                &CorToken::approveCall {
                    spender,
                    value: amount,
                },
            )
            .await?,
        ))
    }

    /// The address a command is about: the one given, else the wallet's.
    ///
    /// # Errors
    /// [`CliError::Config`] when neither exists.
    pub(crate) fn who(
        &self,
        given: Option<Address>,
        has_wallet: bool,
    ) -> Result<Address, CliError> {
        match (given, has_wallet) {
            (Some(a), _) => Ok(a),
            (None, true) => Ok(self.conn.address()),
            (None, false) => Err(CliError::Config(
                "which account? pass an ADDRESS or choose a wallet (--keystore, --dev-account)"
                    .to_owned(),
            )),
        }
    }
}

impl Ctx {
    /// True when a wallet was chosen.
    pub(crate) fn has_wallet(&self) -> bool {
        self.settings.wallet != WalletSource::None
    }
}

pub(crate) use cor_client::events;
