//! `#[derive(FromRef)]`: each field of an app's state struct as a part handlers can take with
//! `State<T>`.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

/// One `FromRef<Self>` impl per field, cloning it, except the fields marked
/// `#[from_ref(skip)]`.
pub(crate) fn expand(input: DeriveInput) -> syn::Result<TokenStream2> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "`#[derive(FromRef)]` takes a struct: the app's state, one part per field",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "`#[derive(FromRef)]` takes a struct with named fields",
        ));
    };
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let mut impls = Vec::with_capacity(fields.named.len());
    for field in &fields.named {
        if skipped(field)? {
            continue;
        }
        let ident = &field.ident;
        let ty = &field.ty;
        impls.push(quote! {
            impl #impl_generics ::nanoapi::app::FromRef<#name #type_generics> for #ty #where_clause {
                fn from_ref(state: &#name #type_generics) -> #ty {
                    ::core::clone::Clone::clone(&state.#ident)
                }
            }
        });
    }
    Ok(quote!(#(#impls)*))
}

/// Whether `field` is marked `#[from_ref(skip)]`.
fn skipped(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("from_ref")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("`#[from_ref]` takes only `skip`"))
            }
        })?;
    }
    Ok(skip)
}
