//! `#[store_test]` turns `async fn name(t: TestStore) { … }` into a module `name` with one test
//! per database — `name::sqlite`, and `name::postgres` when `TEST_DATABASE_URL` is set — so a
//! failure names the database it happened on. The function's own attributes (its doc comment)
//! stay on the module.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, FnArg, ItemFn};

#[proc_macro_attribute]
pub fn store_test(_attributes: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    let name = &function.sig.ident;
    let attributes = &function.attrs;
    let body = &function.block;
    let Some(FnArg::Typed(argument)) = function.sig.inputs.first() else {
        return syn::Error::new_spanned(&function.sig, "#[store_test] needs one argument: the TestStore")
            .to_compile_error()
            .into();
    };
    quote! {
        #(#attributes)*
        mod #name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(#argument) #body

            #[tokio::test]
            async fn sqlite() {
                run(store::testing::sqlite_store().await).await
            }

            #[tokio::test]
            async fn postgres() {
                match std::env::var("TEST_DATABASE_URL") {
                    Ok(url) => run(store::testing::postgres_store(&url).await).await,
                    Err(_) => eprintln!("TEST_DATABASE_URL is not set: this test ran on SQLite only"),
                }
            }
        }
    }
    .into()
}
