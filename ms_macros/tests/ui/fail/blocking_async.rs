use ms_runtime::{Context, HandlerError, ms_service};

#[derive(Clone)]
struct Model;

#[ms_service(name = "model")]
impl Model {
    #[route("infer", blocking)]
    async fn infer(&self, input: Vec<f32>) -> Result<f32, HandlerError> {
        Ok(input.iter().sum())
    }

    #[route("traced", blocking)]
    fn traced(&self, ctx: &Context, input: Vec<f32>) -> Result<f32, HandlerError> {
        let _ = ctx;
        Ok(input.iter().sum())
    }
}

fn main() {}
